using System.Net.Http.Headers;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Receiver.Langtrace;
using Collector.Receiver.Otlp;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using YamlDotNet.RepresentationModel;

namespace Collector.Tests.Components;

/// <summary>
/// Per component type: the fewest YAML keys that make its default config valid (a listen address
/// on 127.0.0.1:0, an exporter's endpoint at a real loopback backend), and for receivers how to
/// send them one request of spans.
/// </summary>
internal static class ComponentSamples
{
    /// <summary>YAML bound on top of the factory's default config; <c>{backend}</c> is the running backend's address.</summary>
    public static string Yaml(IComponentFactory factory) => (factory.Kind, factory.Type) switch
    {
        (ComponentKind.Receiver, "otlp") => "protocols: { grpc: { endpoint: 127.0.0.1:0 }, http: { endpoint: 127.0.0.1:0 } }",
        (ComponentKind.Receiver, "langtrace") => "endpoint: 127.0.0.1:0",
        (ComponentKind.Exporter, "otlp") => "endpoint: '{backend}'\ntimeout: 2s\nretry_on_failure: { enabled: false }",
        (ComponentKind.Exporter, "otlphttp") => "endpoint: '{backend}'\ntimeout: 2s\nretry_on_failure: { enabled: false }",
        (ComponentKind.Exporter, "langtrace") => "endpoint: '{backend}/api/trace'\ntimeout: 2s\nretry_on_failure: { enabled: false }",
        (ComponentKind.Extension, "health_check") => "endpoint: 127.0.0.1:0",
        _ => "{}",
    };

    public static ComponentConfig Load(IComponentFactory factory, string backend, out IReadOnlyList<string> errors)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(Yaml(factory).Replace("{backend}", backend, StringComparison.Ordinal)));
        var collected = new ConfigErrors();
        var config = ConfigLoader.LoadComponent(factory, stream.Documents[0].RootNode, collected);
        errors = collected.All;
        return config;
    }

    /// <summary>The backend an exporter of this type talks to, or null when it needs none.</summary>
    public static async Task<IAsyncDisposable?> StartBackendAsync(IComponentFactory factory) => factory.Type switch
    {
        _ when factory.Kind != ComponentKind.Exporter => null,
        "otlp" => await GrpcTestBackend.StartAsync(),
        "otlphttp" or "langtrace" => await HttpTestBackend.StartAsync(),
        _ => null,
    };

    public static string Address(IAsyncDisposable? backend) => backend switch
    {
        GrpcTestBackend grpc => grpc.Endpoint,
        HttpTestBackend http => http.BaseUrl,
        _ => string.Empty,
    };

    /// <summary>Requests the backend answered so far.</summary>
    public static int Calls(IAsyncDisposable? backend) => backend switch
    {
        GrpcTestBackend grpc => grpc.Calls.Count,
        HttpTestBackend http => http.Calls.Count,
        _ => 0,
    };

    /// <summary>Posts one OTLP/protobuf request of spans to a started receiver; returns the HTTP status.</summary>
    public static async Task<int> SendSpansAsync(IReceiver receiver, HttpClient client)
    {
        var url = receiver switch
        {
            OtlpReceiver otlp => $"http://127.0.0.1:{otlp.HttpPort}/v1/traces",
            LangtraceReceiver langtrace => $"http://127.0.0.1:{langtrace.Port}/api/trace",
            _ => throw new AssertionException($"no sample request for {receiver.GetType().Name}"),
        };
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.AddRange(TestData.Spans(1, 1, 2));
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var reply = await client.PostAsync(new Uri(url), content);
        return (int)reply.StatusCode;
    }

    public static Batch<T> SampleBatch<T>()
        where T : class, IMessage<T> =>
        SignalOps<T>.Select(
            () => (Batch<T>)(object)Batch<ResourceSpans>.Create(TestData.Spans(2, 1, 3)),
            () => (Batch<T>)(object)Batch<ResourceMetrics>.Create([Metrics()]),
            () => (Batch<T>)(object)Batch<ResourceLogs>.Create([Logs()]));

    /// <summary>The batch's resources as bytes, to see whether a consumer changed them.</summary>
    public static byte[] Serialize<T>(Batch<T> batch)
        where T : class, IMessage<T>
    {
        using var buffer = new MemoryStream();
        foreach (var resource in batch.Resources)
        {
            resource.WriteDelimitedTo(buffer);
        }

        return buffer.ToArray();
    }

    private static ResourceMetrics Metrics()
    {
        var gauge = new Gauge();
        for (var i = 0; i < 3; i++)
        {
            gauge.DataPoints.Add(new NumberDataPoint { AsInt = i, TimeUnixNano = 1_700_000_000_000_000_000UL + (ulong)i });
        }

        var scope = new ScopeMetrics { Scope = new InstrumentationScope { Name = "contract" } };
        scope.Metrics.Add(new Metric { Name = "contract.gauge", Gauge = gauge });
        var resource = new ResourceMetrics { Resource = new() };
        resource.Resource.Attributes.Add(TestData.Attr("service.name", "contract"));
        resource.ScopeMetrics.Add(scope);
        return resource;
    }

    private static ResourceLogs Logs()
    {
        var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "contract" } };
        for (var i = 0; i < 3; i++)
        {
            scope.LogRecords.Add(new LogRecord
            {
                TimeUnixNano = 1_700_000_000_000_000_000UL + (ulong)i,
                TraceId = ByteString.CopyFrom(TestData.NewTraceId()),
                SpanId = ByteString.CopyFrom(TestData.NewSpanId()),
                Body = new AnyValue { StringValue = $"record {i}" },
            });
        }

        var resource = new ResourceLogs { Resource = new() };
        resource.Resource.Attributes.Add(TestData.Attr("service.name", "contract"));
        resource.ScopeLogs.Add(scope);
        return resource;
    }
}
