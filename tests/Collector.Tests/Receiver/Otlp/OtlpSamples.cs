using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Receiver;

/// <summary>Small, valid OTLP requests for each signal.</summary>
internal static class OtlpSamples
{
    public static readonly byte[] TraceId = Convert.FromHexString("5b8efff798038103d269b633813fc60c");

    public static Resource Resource(string service) => new()
    {
        Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = service } } },
    };

    public static Span Span(int i, string name = "chat") => new()
    {
        TraceId = ByteString.CopyFrom(TraceId),
        SpanId = ByteString.CopyFrom(BitConverter.GetBytes((long)i + 1)),
        Name = $"{name}-{i}",
        Kind = OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Client,
        StartTimeUnixNano = 1_700_000_000_000_000_000UL + (ulong)i,
        EndTimeUnixNano = 1_700_000_000_500_000_000UL + (ulong)i,
        Attributes = { new KeyValue { Key = "gen_ai.request.model", Value = new AnyValue { StringValue = "gpt-4o" } } },
    };

    public static ExportTraceServiceRequest Traces(int spans, string service = "svc")
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test" } };
        for (var i = 0; i < spans; i++)
        {
            scope.Spans.Add(Span(i));
        }

        return new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { Resource = Resource(service), ScopeSpans = { scope } } } };
    }

    public static ExportMetricsServiceRequest Metrics(int points)
    {
        var gauge = new Gauge();
        for (var i = 0; i < points; i++)
        {
            gauge.DataPoints.Add(new NumberDataPoint { AsInt = i, TimeUnixNano = 1_700_000_000_000_000_000UL });
        }

        var metric = new Metric { Name = "queue.size", Unit = "{item}", Gauge = gauge };
        return new ExportMetricsServiceRequest
        {
            ResourceMetrics = { new ResourceMetrics { Resource = Resource("svc"), ScopeMetrics = { new ScopeMetrics { Metrics = { metric } } } } },
        };
    }

    public static ExportLogsServiceRequest Logs(int records)
    {
        var scope = new ScopeLogs();
        for (var i = 0; i < records; i++)
        {
            scope.LogRecords.Add(new LogRecord
            {
                TimeUnixNano = 1_700_000_000_000_000_000UL,
                SeverityNumber = SeverityNumber.Info,
                Body = new AnyValue { StringValue = $"line {i}" },
                TraceId = ByteString.CopyFrom(TraceId),
                SpanId = ByteString.CopyFrom(BitConverter.GetBytes((long)i + 1)),
            });
        }

        return new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { Resource = Resource("svc"), ScopeLogs = { scope } } } };
    }
}
