using System.Collections.Concurrent;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Collector.Tests.Exporters;

/// <summary>Log events captured from a real Serilog pipeline.</summary>
internal sealed class LogCollector : ILogEventSink
{
    public ConcurrentQueue<LogEvent> Events { get; } = new();

    public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);

    public IReadOnlyList<string> Rendered(LogEventLevel? level = null)
    {
        var lines = new List<string>();
        foreach (var e in Events)
        {
            if (level is null || e.Level == level)
            {
                lines.Add(e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return lines;
    }
}

/// <summary>A component context with real metrics and a capturing logger, plus test batches.</summary>
internal sealed class ExporterTestKit
{
    public ExporterTestKit(string exporterId = "otlp/test")
    {
        ComponentId.TryParse(exporterId, out var id);
        Id = exporterId;
        Context = new ComponentContext(id, new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(Logs).CreateLogger(), Metrics, new SharedComponents());
    }

    public string Id { get; }

    public SelfMetrics Metrics { get; } = new();

    public LogCollector Logs { get; } = new();

    public ComponentContext Context { get; }

    public long Sent(string items = "spans") => (long)Metrics.Read($"collector_exporter_sent_{items}_total", ("exporter", Id));

    public long Failed(string reason, string items = "spans") =>
        (long)Metrics.Read($"collector_exporter_send_failed_{items}_total", ("exporter", Id), ("reason", reason));

    public long Retries => (long)Metrics.Read("collector_exporter_retries_total", ("exporter", Id));

    /// <summary>
    /// Retries every 50 ms (no jitter) so that retry tests stay fast and deterministic; max_attempts
    /// explicit (null leaves it unset: unbounded but max_elapsed_time without a spool).
    /// </summary>
    public static void FastRetry(ExporterConfigBase config, int? maxAttempts = 3)
    {
        config.Timeout = TimeSpan.FromSeconds(5);
        config.RetryOnFailure.InitialInterval = TimeSpan.FromMilliseconds(50);
        config.RetryOnFailure.MaxInterval = TimeSpan.FromMilliseconds(200);
        config.RetryOnFailure.RandomizationFactor = 0;
        config.RetryOnFailure.MaxAttempts = maxAttempts;
        config.SendingQueue.NumConsumers = 1;
    }

    public static Batch<ResourceSpans> Spans(int count, string prefix = "span")
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test-scope" } };
        for (var i = 0; i < count; i++)
        {
            var span = new Span
            {
                Name = $"{prefix}-{i}",
                TraceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(b => (byte)b).ToArray()),
                SpanId = ByteString.CopyFrom([0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, (byte)i]),
                StartTimeUnixNano = 1_700_000_000_000_000_000UL,
                EndTimeUnixNano = 1_700_000_001_000_000_000UL,
            };
            span.Attributes.Add(new KeyValue { Key = "gen_ai.request.model", Value = new AnyValue { StringValue = "gpt-4o" } });
            span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = 10 + i } });
            scope.Spans.Add(span);
        }

        var resource = new ResourceSpans { Resource = Resource("chat-app") };
        resource.ScopeSpans.Add(scope);
        return Batch<ResourceSpans>.Create(new RepeatedField<ResourceSpans> { resource });
    }

    public static Batch<ResourceMetrics> MetricPoints(int count)
    {
        var gauge = new Gauge();
        for (var i = 0; i < count; i++)
        {
            gauge.DataPoints.Add(new NumberDataPoint { AsInt = i, TimeUnixNano = 1_700_000_000_000_000_000UL });
        }

        var scope = new ScopeMetrics();
        scope.Metrics.Add(new Metric { Name = "queue.depth", Gauge = gauge });
        var resource = new ResourceMetrics { Resource = Resource("chat-app") };
        resource.ScopeMetrics.Add(scope);
        return Batch<ResourceMetrics>.Create(new RepeatedField<ResourceMetrics> { resource });
    }

    public static Batch<ResourceLogs> LogRecords(int count)
    {
        var scope = new ScopeLogs();
        for (var i = 0; i < count; i++)
        {
            scope.LogRecords.Add(new LogRecord { Body = new AnyValue { StringValue = $"log {i}" }, SeverityText = "INFO", EventName = "gen_ai.choice" });
        }

        var resource = new ResourceLogs { Resource = Resource("chat-app") };
        resource.ScopeLogs.Add(scope);
        return Batch<ResourceLogs>.Create(new RepeatedField<ResourceLogs> { resource });
    }

    private static Resource Resource(string service)
    {
        var r = new Resource();
        r.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = service } });
        return r;
    }
}
