using Collector.Exporters.Langtrace;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Tests.Exporters;
using Collector.Tests.LangtraceInterop.StandIn;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>A Langtrace stand-in and langtrace exporters for one test, stopped after it.</summary>
public abstract class LangtraceTestBase
{
    internal const string ApiKey = "lt-secret-key-0123456789";
    internal const string Project = "project-1";

    private readonly List<IExporter<ResourceSpans>> _exporters = [];
    private LangtraceStandIn? _standIn;

    internal ExporterTestKit Kit { get; private set; } = null!;

    internal LangtraceStandIn StandIn => _standIn ?? throw new InvalidOperationException("no stand-in");

    [SetUp]
    public async Task StartStandIn()
    {
        Kit = new ExporterTestKit("langtrace");
        _standIn = await LangtraceStandIn.StartAsync(new Dictionary<string, string> { [ApiKey] = Project });
    }

    [TearDown]
    public async Task StopAll()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        foreach (var exporter in _exporters)
        {
            await exporter.ShutdownAsync(budget.Token);
        }

        _exporters.Clear();
        if (_standIn is not null)
        {
            await _standIn.DisposeAsync();
        }
    }

    /// <summary>Stand-in endpoint and key, fast retries, one consumer (ordered sends), flush after 100 ms.</summary>
    internal LangtraceExporterConfig Config(int batchSize = 50, int? maxAttempts = 3)
    {
        var config = new LangtraceExporterConfig
        {
            Endpoint = StandIn.Url,
            ApiKey = ApiKey,
            BatchSize = batchSize,
            FlushInterval = TimeSpan.FromMilliseconds(100),
        };
        ExporterTestKit.FastRetry(config, maxAttempts);
        return config;
    }

    internal async Task<IExporter<ResourceSpans>> StartExporterAsync(LangtraceExporterConfig config)
    {
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty, "test config must be valid");
        var exporter = new LangtraceExporterFactory().CreateExporter<ResourceSpans>(Kit.Context, config);
        _exporters.Add(exporter);
        await exporter.StartAsync(CancellationToken.None);
        return exporter;
    }

    internal static KeyValue Attr(string key, AnyValue value) => new() { Key = key, Value = value };

    internal static AnyValue Str(string value) => new() { StringValue = value };

    internal static AnyValue Int(long value) => new() { IntValue = value };

    internal static AnyValue Dbl(double value) => new() { DoubleValue = value };

    internal static AnyValue Bool(bool value) => new() { BoolValue = value };

    internal static AnyValue Arr(params AnyValue[] values)
    {
        var array = new ArrayValue();
        array.Values.AddRange(values);
        return new AnyValue { ArrayValue = array };
    }

    internal static Span NewSpan(string name, byte[]? traceId = null, params KeyValue[] attributes)
    {
        var span = TestSupport.TestData.Span(name, traceId);
        span.Attributes.AddRange(attributes);
        return span;
    }

    internal static ResourceSpans Resource(string service, string scope, params Span[] spans)
    {
        var resource = new ResourceSpans { Resource = new Resource() };
        resource.Resource.Attributes.Add(Attr("service.name", Str(service)));
        var scopeSpans = new ScopeSpans { Scope = new InstrumentationScope { Name = scope, Version = "1.0" } };
        scopeSpans.Spans.AddRange(spans);
        resource.ScopeSpans.Add(scopeSpans);
        return resource;
    }

    internal static Batch<ResourceSpans> BatchOf(params ResourceSpans[] resources) =>
        Batch<ResourceSpans>.Create(new RepeatedField<ResourceSpans> { resources });

    internal static string Hex(ByteString id) => Convert.ToHexStringLower(id.Span);
}
