using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Collector.Pipeline;

/// <summary>
/// A unit of telemetry flowing through a pipeline: the protobuf resource list of one signal
/// (ResourceSpans, ResourceMetrics or ResourceLogs) plus batch metadata. Ownership moves with
/// each hand-off: the sender does not touch a batch after passing it on.
/// </summary>
public sealed class Batch<T>
    where T : class, IMessage<T>
{
    public Batch(RepeatedField<T> resources, int itemCount, long byteSize = 0, string? clientAddress = null)
    {
        Resources = resources;
        ItemCount = itemCount;
        ByteSize = byteSize;
        ClientAddress = clientAddress;
        ReceivedAt = DateTimeOffset.UtcNow;
    }

    public RepeatedField<T> Resources { get; }

    /// <summary>Spans, metric data points or log records; kept in step by whoever changes <see cref="Resources"/>.</summary>
    public int ItemCount { get; set; }

    /// <summary>Encoded size as received (0 when unknown); used for memory accounting.</summary>
    public long ByteSize { get; set; }

    public string? ClientAddress { get; }

    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>
    /// Durable-ack handles of the client requests whose items this batch carries; null when no
    /// exporter of the pipeline needs the receiver to wait (no write-ahead spool).
    /// </summary>
    public List<DeliveryAck>? Acks { get; set; }

    public static Batch<T> Create(RepeatedField<T> resources, long byteSize = 0, string? clientAddress = null) =>
        new(resources, SignalOps<T>.Instance.CountItems(resources), byteSize, clientAddress);

    /// <summary>Moves the acks of <paramref name="other"/> onto this batch (used when batches merge).</summary>
    public void TakeAcks(Batch<T> other)
    {
        if (other.Acks is null)
        {
            return;
        }

        if (Acks is null)
        {
            Acks = other.Acks;
        }
        else
        {
            Acks.AddRange(other.Acks);
        }

        other.Acks = null;
    }

    /// <summary>Every holder of this batch must settle once; call before handing it to <paramref name="extraHolders"/> more consumers.</summary>
    public void AddAckHolders(int extraHolders)
    {
        if (Acks is null || extraHolders <= 0)
        {
            return;
        }

        foreach (var ack in Acks)
        {
            ack.AddPending(extraHolders);
        }
    }

    /// <summary>This holder is done with the batch: it was delivered, made durable, or dropped by rule.</summary>
    public void CompleteAcks()
    {
        if (Acks is null)
        {
            return;
        }

        foreach (var ack in Acks)
        {
            ack.Complete();
        }
    }

    /// <summary>This holder could not take the batch: the client should retry.</summary>
    public void FailAcks(string reason)
    {
        if (Acks is null)
        {
            return;
        }

        foreach (var ack in Acks)
        {
            ack.Fail(reason);
        }
    }
}

/// <summary>
/// Completion handle of one client request for durable acknowledgement: counts the holders of
/// its data; completes when all have settled, fails as soon as one fails.
/// </summary>
public sealed class DeliveryAck
{
    private readonly TaskCompletionSource<string?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending = 1;

    /// <summary>Completes with null on success, or with the first failure reason.</summary>
    public Task<string?> Task => _done.Task;

    public void AddPending(int count) => Interlocked.Add(ref _pending, count);

    public void Complete()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            _done.TrySetResult(null);
        }
    }

    public void Fail(string reason) => _done.TrySetResult(reason);
}
