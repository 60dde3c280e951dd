using System.Collections.Concurrent;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.TestSupport;

/// <summary>
/// Test-only exporter type "capture": the last hop of a real pipeline, keeping what reached it
/// so that end-to-end tests can compare it with what the SDK sent.
/// </summary>
internal sealed class CaptureExporterFactory : ExporterFactory<CaptureExporterFactory.CaptureConfig>
{
    private readonly CaptureStore _store;

    public CaptureExporterFactory(CaptureStore store)
        : base("capture", () => new CaptureConfig())
    {
        _store = store;
        WithTraces(Create<ResourceSpans>, Stability.Development);
        WithMetrics(Create<ResourceMetrics>, Stability.Development);
        WithLogs(Create<ResourceLogs>, Stability.Development);
    }

    private IExporter<T> Create<T>(ComponentContext context, CaptureConfig config)
        where T : class, IMessage<T> => new CaptureExporter<T>(_store, context.Id.ToString());

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
