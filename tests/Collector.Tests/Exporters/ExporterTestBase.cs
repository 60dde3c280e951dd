using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Tests.Exporters;

/// <summary>Starts real backends and exporters for a test and shuts everything down after it.</summary>
public abstract class ExporterTestBase
{
    private readonly List<IComponent> _exporters = [];
    private readonly List<IAsyncDisposable> _backends = [];

    internal ExporterTestKit Kit { get; private set; } = null!;

    [SetUp]
    public void CreateKit() => Kit = new ExporterTestKit();

    [TearDown]
    public async Task StopAll()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        foreach (var exporter in _exporters)
        {
            await exporter.ShutdownAsync(budget.Token);
        }

        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        _exporters.Clear();
        _backends.Clear();
    }

    /// <summary>With <paramref name="certificate"/> the backend serves HTTPS.</summary>
    internal async Task<GrpcTestBackend> GrpcBackendAsync(X509Certificate2? certificate = null) => Track(await GrpcTestBackend.StartAsync(certificate));

    /// <summary>With <paramref name="certificate"/> the backend serves HTTPS.</summary>
    internal async Task<HttpTestBackend> HttpBackendAsync(X509Certificate2? certificate = null) => Track(await HttpTestBackend.StartAsync(certificate: certificate));

    internal async Task<IExporter<T>> StartExporterAsync<T>(IExporterFactory factory, ComponentConfig config)
        where T : class, IMessage<T>
    {
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty, "test config must be valid");
        var exporter = factory.CreateExporter<T>(Kit.Context, config);
        _exporters.Add(exporter);
        await exporter.StartAsync(CancellationToken.None);
        return exporter;
    }

    internal static TimeSpan Between(long earlier, long later) => Stopwatch.GetElapsedTime(earlier, later);

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    internal static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private TBackend Track<TBackend>(TBackend backend)
        where TBackend : IAsyncDisposable
    {
        _backends.Add(backend);
        return backend;
    }
}
