using System.Diagnostics;
using System.Diagnostics.Metrics;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ProtoLogs = OpenTelemetry.Proto.Logs.V1;
using ProtoMetrics = OpenTelemetry.Proto.Metrics.V1;
using ProtoTrace = OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.EndToEnd;

/// <summary>
/// The real OpenTelemetry .NET SDK sends traces, metrics and logs over gRPC and HTTP/protobuf
/// into collector A, whose otlp (gRPC) and otlphttp exporters forward to collector B; B's two
/// pipelines capture what each exporter delivered. Everything must arrive intact, twice.
/// </summary>
[NonParallelizable]
public sealed class SdkThroughTwoCollectorsTests
{
    private static string DownstreamYaml(int grpc, int http) => $$"""
        receivers:
          otlp/grpc: { protocols: { grpc: { endpoint: "127.0.0.1:{{grpc}}" } } }
          otlp/http: { protocols: { http: { endpoint: "127.0.0.1:{{http}}" } } }
        exporters:
          capture/grpc:
          capture/http:
        service:
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines:
            traces/grpc: { receivers: [otlp/grpc], exporters: [capture/grpc] }
            traces/http: { receivers: [otlp/http], exporters: [capture/http] }
            metrics/grpc: { receivers: [otlp/grpc], exporters: [capture/grpc] }
            metrics/http: { receivers: [otlp/http], exporters: [capture/http] }
            logs/grpc: { receivers: [otlp/grpc], exporters: [capture/grpc] }
            logs/http: { receivers: [otlp/http], exporters: [capture/http] }
        """;

    private static string UpstreamYaml(int grpc, int http, int downGrpc, int downHttp) => $$"""
        receivers:
          otlp:
            protocols:
              grpc: { endpoint: "127.0.0.1:{{grpc}}" }
              http: { endpoint: "127.0.0.1:{{http}}" }
        processors:
          memory_limiter: { limit_mib: 4096 }
          batch: { timeout: 50ms }
        exporters:
          otlp: { endpoint: "http://127.0.0.1:{{downGrpc}}", compression: gzip, headers: { x-tenant: e2e } }
          otlphttp: { endpoint: "http://127.0.0.1:{{downHttp}}", compression: gzip }
        service:
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines:
            traces: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp, otlphttp] }
            metrics: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp, otlphttp] }
            logs: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp, otlphttp] }
        """;

    [Test]
    public async Task Traces_metrics_and_logs_from_the_sdk_arrive_intact_through_both_exporters()
    {
        var store = new CaptureStore();
        int downGrpc = Ports.Free(), downHttp = Ports.Free(), upGrpc = Ports.Free(), upHttp = Ports.Free();
        await using var downstream = await RunningCollector.StartAsync(DownstreamYaml(downGrpc, downHttp), new CaptureExporterFactory(store));
        await using var upstream = await RunningCollector.StartAsync(UpstreamYaml(upGrpc, upHttp, downGrpc, downHttp));

        var sent = SendTraces(upGrpc, upHttp);
        SendMetrics(upHttp);
        var logTraceId = SendLogs(upGrpc);

        foreach (var exporter in new[] { "capture/grpc", "capture/http" })
        {
            await Poll.UntilAsync(() => Spans(store, exporter).Count >= sent.Count, TimeSpan.FromSeconds(20), $"{sent.Count} spans at {exporter}");
            AssertSpansIntact(sent, Spans(store, exporter), exporter);

            await Poll.UntilAsync(() => Points(store, exporter, "e2e.requests").Count >= 2, TimeSpan.FromSeconds(20), $"metric points at {exporter}");
            AssertMetricsIntact(store.Get<ProtoMetrics.ResourceMetrics>(exporter));

            await Poll.UntilAsync(() => Logs(store, exporter).Count >= 1, TimeSpan.FromSeconds(20), $"log records at {exporter}");
            AssertLogsIntact(store.Get<ProtoLogs.ResourceLogs>(exporter), logTraceId);
        }
    }

    private static List<Activity> SendTraces(int grpcPort, int httpPort)
    {
        var sent = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name.StartsWith("e2e.", StringComparison.Ordinal),
            ActivityStopped = a => { lock (sent) { sent.Add(a); } },
        };
        ActivitySource.AddActivityListener(listener);

        foreach (var (protocol, endpoint, source) in new[]
        {
            (OtlpExportProtocol.Grpc, $"http://127.0.0.1:{grpcPort}", "e2e.grpc"),
            (OtlpExportProtocol.HttpProtobuf, $"http://127.0.0.1:{httpPort}/v1/traces", "e2e.http"),
        })
        {
            using var provider = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("e2e-app", serviceVersion: "1.2.3"))
                .AddSource(source)
                .AddOtlpExporter(o => { o.Endpoint = new Uri(endpoint); o.Protocol = protocol; })
                .Build();
            using var activitySource = new ActivitySource(source, "9.9.9");
            ActivityContext linked;
            using (var other = activitySource.StartActivity("linked-target"))
            {
                linked = other!.Context;
            }

            using (var root = activitySource.StartActivity("chat request", ActivityKind.Server))
            {
                root!.SetTag("http.route", "/chat");
                root.SetTag("retry.count", 3L);
                root.SetTag("sampling.ratio", 0.25);
                root.SetTag("cache.hit", true);
                root.SetTag("tags", new[] { "a", "b" });
                using (var child = activitySource.StartActivity("llm call", ActivityKind.Client, root.Context, links: [new ActivityLink(linked, new ActivityTagsCollection { ["link.reason"] = "follows" })]))
                {
                    child!.SetTag("gen_ai.request.model", "gpt-4o");
                    child.AddEvent(new ActivityEvent("gen_ai.content.prompt", tags: new ActivityTagsCollection { ["gen_ai.prompt"] = "hello" }));
                    child.SetStatus(ActivityStatusCode.Error, "model overloaded");
                }
            }

            Assert.That(provider.ForceFlush(10_000), Is.True);
        }

        return sent;
    }

    private static void SendMetrics(int httpPort)
    {
        using var meter = new Meter("e2e.meter", "1.0");
        using var provider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("e2e-app"))
            .AddMeter("e2e.meter")
            .AddOtlpExporter((o, reader) =>
            {
                o.Endpoint = new Uri($"http://127.0.0.1:{httpPort}/v1/metrics");
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 60_000;
            })
            .Build();
        var counter = meter.CreateCounter<long>("e2e.requests", "{request}", "requests served");
        counter.Add(5, new KeyValuePair<string, object?>("route", "/a"));
        counter.Add(7, new KeyValuePair<string, object?>("route", "/b"));
        meter.CreateHistogram<double>("e2e.latency", "s").Record(0.42);
        Assert.That(provider.ForceFlush(10_000), Is.True);
    }

    private static ActivityTraceId SendLogs(int grpcPort)
    {
        using var source = new ActivitySource("e2e.logs");
        using var listener = new ActivityListener { ShouldListenTo = s => s.Name == "e2e.logs", Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded };
        ActivitySource.AddActivityListener(listener);
        using var factory = LoggerFactory.Create(builder => builder.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("e2e-app"));
            o.IncludeFormattedMessage = true;
            o.AddOtlpExporter(e => { e.Endpoint = new Uri($"http://127.0.0.1:{grpcPort}"); e.Protocol = OtlpExportProtocol.Grpc; });
        }));
        var logger = factory.CreateLogger("e2e.logger");
        using var activity = source.StartActivity("with-log");
        logger.LogWarning("user {UserId} asked {Count} questions", "u-42", 3);
        return activity!.TraceId;
    }

    private static List<(ProtoTrace.ResourceSpans Resource, ProtoTrace.ScopeSpans Scope, ProtoTrace.Span Span)> Spans(CaptureStore store, string exporter)
    {
        var result = new List<(ProtoTrace.ResourceSpans, ProtoTrace.ScopeSpans, ProtoTrace.Span)>();
        foreach (var rs in store.Get<ProtoTrace.ResourceSpans>(exporter))
        {
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var span in ss.Spans)
                {
                    result.Add((rs, ss, span));
                }
            }
        }

        return result;
    }

    private static List<ProtoMetrics.NumberDataPoint> Points(CaptureStore store, string exporter, string metric) =>
        store.Get<ProtoMetrics.ResourceMetrics>(exporter)
            .SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics)
            .Where(m => m.Name == metric && m.DataCase == ProtoMetrics.Metric.DataOneofCase.Sum)
            .SelectMany(m => m.Sum.DataPoints).ToList();

    private static List<ProtoLogs.LogRecord> Logs(CaptureStore store, string exporter) =>
        store.Get<ProtoLogs.ResourceLogs>(exporter).SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords).ToList();

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static AnyValue Attribute(IEnumerable<KeyValue> attributes, string key) =>
        attributes.Single(a => a.Key == key).Value;

    private static void AssertSpansIntact(List<Activity> sent, List<(ProtoTrace.ResourceSpans Resource, ProtoTrace.ScopeSpans Scope, ProtoTrace.Span Span)> received, string exporter)
    {
        var byId = received.ToDictionary(r => Hex(r.Span.SpanId));
        Assert.That(byId, Has.Count.EqualTo(sent.Count), $"{exporter}: each span exactly once");
        foreach (var activity in sent)
        {
            var (resource, scope, span) = byId[activity.SpanId.ToHexString()];
            Assert.Multiple(() =>
            {
                Assert.That(Hex(span.TraceId), Is.EqualTo(activity.TraceId.ToHexString()));
                Assert.That(span.Name, Is.EqualTo(activity.DisplayName));
                Assert.That(span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId), Is.EqualTo(activity.ParentSpanId == default ? null : activity.ParentSpanId.ToHexString()));
                Assert.That(span.StartTimeUnixNano, Is.GreaterThan(0UL));
                Assert.That(span.EndTimeUnixNano, Is.GreaterThanOrEqualTo(span.StartTimeUnixNano));
                Assert.That(Attribute(resource.Resource.Attributes, "service.name").StringValue, Is.EqualTo("e2e-app"));
                Assert.That(Attribute(resource.Resource.Attributes, "service.version").StringValue, Is.EqualTo("1.2.3"));
                Assert.That(scope.Scope.Name, Is.EqualTo(activity.Source.Name));
                Assert.That(scope.Scope.Version, Is.EqualTo("9.9.9"));
            });

            if (activity.DisplayName == "chat request")
            {
                Assert.That(span.Kind, Is.EqualTo(ProtoTrace.Span.Types.SpanKind.Server));
                Assert.That(Attribute(span.Attributes, "http.route").StringValue, Is.EqualTo("/chat"));
                Assert.That(Attribute(span.Attributes, "retry.count").IntValue, Is.EqualTo(3));
                Assert.That(Attribute(span.Attributes, "sampling.ratio").DoubleValue, Is.EqualTo(0.25));
                Assert.That(Attribute(span.Attributes, "cache.hit").BoolValue, Is.True);
                Assert.That(Attribute(span.Attributes, "tags").ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "a", "b" }));
            }

            if (activity.DisplayName == "llm call")
            {
                Assert.That(span.Kind, Is.EqualTo(ProtoTrace.Span.Types.SpanKind.Client));
                Assert.That(span.Status.Code, Is.EqualTo(ProtoTrace.Status.Types.StatusCode.Error));
                Assert.That(span.Status.Message, Is.EqualTo("model overloaded"));
                Assert.That(span.Events, Has.Count.EqualTo(1));
                Assert.That(span.Events[0].Name, Is.EqualTo("gen_ai.content.prompt"));
                Assert.That(Attribute(span.Events[0].Attributes, "gen_ai.prompt").StringValue, Is.EqualTo("hello"));
                Assert.That(span.Links, Has.Count.EqualTo(1));
                var link = activity.Links.Single();
                Assert.That(Hex(span.Links[0].SpanId), Is.EqualTo(link.Context.SpanId.ToHexString()));
                Assert.That(Hex(span.Links[0].TraceId), Is.EqualTo(link.Context.TraceId.ToHexString()));
                Assert.That(Attribute(span.Links[0].Attributes, "link.reason").StringValue, Is.EqualTo("follows"));
            }
        }
    }

    private static void AssertMetricsIntact(List<ProtoMetrics.ResourceMetrics> resources)
    {
        var metrics = resources.SelectMany(r => r.ScopeMetrics).Where(s => s.Scope.Name == "e2e.meter").SelectMany(s => s.Metrics).ToList();
        Assert.That(resources.All(r => Attribute(r.Resource.Attributes, "service.name").StringValue == "e2e-app"));
        var counter = metrics.First(m => m.Name == "e2e.requests");
        Assert.That(counter.Unit, Is.EqualTo("{request}"));
        Assert.That(counter.Description, Is.EqualTo("requests served"));
        Assert.That(counter.Sum.IsMonotonic, Is.True);
        var byRoute = counter.Sum.DataPoints.ToDictionary(p => Attribute(p.Attributes, "route").StringValue, p => p.AsInt);
        Assert.That(byRoute, Is.EquivalentTo(new Dictionary<string, long> { ["/a"] = 5, ["/b"] = 7 }));
        var histogram = metrics.First(m => m.Name == "e2e.latency").Histogram.DataPoints.Single();
        Assert.That(histogram.Count, Is.EqualTo(1UL));
        Assert.That(histogram.Sum, Is.EqualTo(0.42));
        Assert.That(histogram.ExplicitBounds, Is.Not.Empty);
    }

    private static void AssertLogsIntact(List<ProtoLogs.ResourceLogs> resources, ActivityTraceId traceId)
    {
        var record = resources.SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords).Single();
        Assert.That(record.SeverityNumber, Is.EqualTo(ProtoLogs.SeverityNumber.Warn));
        Assert.That(record.Body.StringValue, Is.EqualTo("user u-42 asked 3 questions"));
        Assert.That(Attribute(record.Attributes, "UserId").StringValue, Is.EqualTo("u-42"));
        Assert.That(Attribute(record.Attributes, "Count").IntValue, Is.EqualTo(3));
        Assert.That(Hex(record.TraceId), Is.EqualTo(traceId.ToHexString()));
        Assert.That(record.SpanId.Length, Is.EqualTo(8));
    }
}
