using Collector.Pipeline;
using Google.Protobuf;

namespace Collector.Processors.LangtraceMerge;

/// <summary>
/// langtrace_merge as seen by one pipeline: a port into the state shared by every pipeline that
/// lists the component id. Spans and AI events go into the shared trace-keyed buffer; each
/// pipeline receives its own signal back when the trace flushes.
/// </summary>
internal sealed class LangtraceMergeProcessor<T>(MergeState state, int port) : IProcessor<T>
    where T : class, IMessage<T>
{
    private readonly MergeSide<T> _side = state.Side<T>();

    /// <summary>Spans are changed in place (attributes, events, parents).</summary>
    public bool MutatesData => true;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken) =>
        state.ConsumeAsync(_side, port, batch, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        state.Start();
        return Task.CompletedTask;
    }

    public Task ShutdownAsync(CancellationToken cancellationToken) => state.ShutdownPortAsync(_side, port, cancellationToken);
}
