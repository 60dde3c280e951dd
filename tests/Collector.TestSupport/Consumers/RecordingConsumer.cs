using Collector.Pipeline;
using Google.Protobuf;

namespace Collector.Tests.TestSupport;

/// <summary>The end of a chain under test: keeps every batch it is handed and settles its acks.</summary>
internal sealed class RecordingConsumer<T> : IConsumer<T>
    where T : class, IMessage<T>
{
    private readonly List<Batch<T>> _batches = [];

    public bool MutatesData => false;

    public IReadOnlyList<Batch<T>> Batches
    {
        get
        {
            lock (_batches)
            {
                return [.. _batches];
            }
        }
    }

    public int ItemCount
    {
        get
        {
            lock (_batches)
            {
                var total = 0;
                foreach (var b in _batches)
                {
                    total += SignalOps<T>.Instance.CountItems(b.Resources);
                }

                return total;
            }
        }
    }

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        lock (_batches)
        {
            _batches.Add(batch);
        }

        batch.CompleteAcks();
        return ValueTask.CompletedTask;
    }
}
