using Collector.Pipeline;
using Google.Protobuf;

namespace Collector.Tests.TestSupport;

/// <summary>
/// A downstream (an exporter stand-in) that holds every batch until <see cref="Open"/>, then counts it
/// and completes its acks: fills channels and queues in front of it. Honours the caller's token while held.
/// </summary>
internal sealed class GatedConsumer<T> : IConsumer<T>
    where T : class, IMessage<T>
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _batches;
    private int _items;

    public bool MutatesData => false;

    /// <summary>Batches that reached the gate.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Batches let through.</summary>
    public int Batches => Volatile.Read(ref _batches);

    /// <summary>Items let through.</summary>
    public int Items => Volatile.Read(ref _items);

    public void Open() => _open.TrySetResult();

    public async ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _started);
        await _open.Task.WaitAsync(cancellationToken);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _items, batch.ItemCount);
        batch.CompleteAcks();
    }
}
