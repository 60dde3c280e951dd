using System.Collections.Concurrent;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Tests.TestSupport;

/// <summary>
/// Test-only exporter type "capture": the last hop of a real pipeline, keeping what reached it
/// so that end-to-end tests can compare it with what the SDK sent.
/// </summary>
internal sealed class CaptureExporterFactory(CaptureStore store)
    : EverySignalExporterFactory<CaptureExporterFactory.CaptureConfig>("capture", () => new(), Stability.Development)
{
    protected override IExporter<T> Create<T>(ComponentContext context, CaptureConfig config) => new CaptureExporter<T>(store, context.Id.ToString());

    internal sealed class CaptureConfig : ComponentConfig;
}

internal sealed class CaptureStore
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<IMessage>> _byExporter = new();

    public void Add(string exporter, IMessage resource) => _byExporter.GetOrAdd(exporter, _ => new()).Enqueue(resource);

    public List<T> Get<T>(string exporter)
        where T : IMessage => _byExporter.TryGetValue(exporter, out var q) ? q.OfType<T>().ToList() : [];
}

internal sealed class CaptureExporter<T>(CaptureStore store, string id) : IExporter<T>
    where T : class, IMessage<T>
{
    public bool MutatesData => false;

    public bool RequiresDurableAck => false;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        foreach (var r in batch.Resources)
        {
            store.Add(id, r);
        }

        batch.CompleteAcks();
        return ValueTask.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
