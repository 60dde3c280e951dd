using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector.Tests.TestSupport;

/// <summary>An in-process collector started from YAML text, as the CLI would start it.</summary>
internal sealed class RunningCollector : IAsyncDisposable
{
    private RunningCollector(CollectorHost host) => Host = host;

    public CollectorHost Host { get; }

    public static async Task<RunningCollector> StartAsync(string yaml, params IComponentFactory[] extraFactories)
    {
        var registry = CollectorComponents.CreateRegistry(extraFactories);
        var loaded = ConfigLoader.Load(yaml, registry, Environment.GetEnvironmentVariable);
        Assert.That(loaded.Errors, Is.Empty, "test config must be valid");
        var host = new CollectorHost(loaded.Config!, registry, Serilog.Core.Logger.None);
        await host.StartAsync(CancellationToken.None);
        return new RunningCollector(host);
    }

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();
}
