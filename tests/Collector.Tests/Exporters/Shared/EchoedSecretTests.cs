using Collector.Exporters.Langtrace;
using Collector.Exporters.OtlpHttp;
using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Export;
using Collector.Tests.Receiver;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Trace.V1;
using Serilog;

namespace Collector.Tests.Exporters;

/// <summary>
/// A backend that answers 401 with a body echoing the credentials it was sent (as some gateways
/// do): the exporter's log says 401 but holds neither the api key nor the bearer token.
/// </summary>
public sealed class EchoedSecretTests
{
    private const string ApiKey = "lt-echoed-key-Q7w8e9r0t1";
    private const string Token = "tok-echoed-5f4e3d2c1b0a";

    private EchoingAuthBackend? _backend;

    [SetUp]
    public async Task StartBackend() => _backend = await EchoingAuthBackend.StartAsync();

    [TearDown]
    public async Task StopBackend()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    private string Url => _backend!.Url;

    [Test]
    public async Task Langtrace_logs_the_401_without_the_echoed_key_or_token()
    {
        var config = new LangtraceExporterConfig { Endpoint = Url, ApiKey = ApiKey, BatchSize = 1, FlushInterval = TimeSpan.FromMilliseconds(50) };
        config.Headers["Authorization"] = $"Bearer {Token}";
        var lines = await ExportOnceAsync(new LangtraceExporterFactory(), config, "langtrace");
        AssertNoSecret(lines);
    }

    [Test]
    public async Task Otlphttp_logs_the_401_without_the_echoed_token()
    {
        var config = new OtlpHttpExporterConfig { Endpoint = Url, Encoding = OtlpEncoding.Json };
        config.Headers["Authorization"] = $"Bearer {Token}";
        config.Headers["x-api-key"] = ApiKey;
        var lines = await ExportOnceAsync(new OtlpHttpExporterFactory(), config, "otlphttp");
        AssertNoSecret(lines);
    }

    private static void AssertNoSecret(IReadOnlyCollection<string> lines)
    {
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Some.Contain("401").And.Contain("****"), "the failure is logged, with the backend's words masked");
            Assert.That(lines, Has.None.Contain(ApiKey));
            Assert.That(lines, Has.None.Contain(Token));
            Assert.That(lines, Has.None.Contain(EchoingAuthBackend.StrangerKey));
        });
    }

    private static async Task<IReadOnlyCollection<string>> ExportOnceAsync<TConfig>(ExporterFactory<TConfig> factory, TConfig config, string id)
        where TConfig : ExporterConfigBase
    {
        ExporterTestKit.FastRetry(config, maxAttempts: 1);
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty, "test config must be valid");
        var sink = new CapturingSink();
        var kit = new ExporterTestKit(id);
        Assert.That(ComponentId.TryParse(id, out var componentId), Is.True);
        var context = new ComponentContext(componentId, new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger(), kit.Metrics, new SharedComponents());
        var exporter = factory.CreateExporter<ResourceSpans>(context, config);
        await exporter.StartAsync(CancellationToken.None);
        try
        {
            await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);
            await Poll.UntilAsync(() => kit.Failed("permanent") == 1, TimeSpan.FromSeconds(10), "the batch dropped as permanent");
        }
        finally
        {
            using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await exporter.ShutdownAsync(budget.Token);
        }

        return sink.Lines;
    }
}
