using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>
/// A batch on its way: <see cref="SpoolId"/> is its spool row (0 when it is in memory only);
/// <see cref="Replayed"/> when read back from the spool; <see cref="HeldBytes"/> of the spool's
/// in-memory allowance it holds until it leaves memory.
/// </summary>
internal readonly record struct QueuedBatch<T>(Batch<T> Batch, long SpoolId, bool Replayed, int HeldBytes)
    where T : class, IMessage<T>
{
    /// <summary>Set by <see cref="MemoryQueue{T}"/> while the batch waits there: what it counts against <c>queue_size</c> (sizer items or bytes).</summary>
    public long QueuedSize { get; init; }

    /// <summary>Set by <see cref="MemoryQueue{T}"/> while the batch waits there: its bytes in the queue's byte gauge.</summary>
    public long QueuedBytes { get; init; }
}

/// <summary>
/// Where batches wait for a consumer of the <see cref="QueueSender{T}"/>: in memory
/// (<see cref="MemoryQueue{T}"/>) or in memory backed by the exporter's disk spool
/// (<see cref="SpoolQueue{T}"/>). The queue also decides what becomes of a batch the backend did not take.
/// </summary>
internal interface IExportQueue<T>
    where T : class, IMessage<T>
{
    /// <summary>write_ahead: the receiver answers the client only after the spool commit.</summary>
    bool RequiresDurableAck { get; }

    /// <summary>Shutdown with a usable spool: failed batches are parked there rather than tried again.</summary>
    bool ParkInsteadOfRetry { get; }

    /// <summary>
    /// The pipeline door asks before taking a request (<see cref="IAdmissionControl"/>): null to admit,
    /// else why not (the helper counts it). Refuses only under <c>sending_queue.on_full: reject</c>, while
    /// the memory queue is full and there is nowhere else to put a batch.
    /// </summary>
    AdmissionRefusal? AdmissionRefusal();

    /// <summary>Opens what the queue keeps batches in besides memory; before the consumers start.</summary>
    void Start();

    /// <summary>Takes a fresh batch and settles its acks (durable ones after the commit); never waits for room.</summary>
    void Enqueue(Batch<T> batch);

    /// <summary>The next batch for a consumer; <paramref name="preferSpooled"/> asks for a spooled one first (fairness).</summary>
    bool TryTake(bool preferSpooled, out QueuedBatch<T> work);

    /// <summary>Completes when <see cref="TryTake"/> may find work; false when the queue is complete and empty.</summary>
    ValueTask<bool> WaitForWorkAsync();

    /// <summary>After a send: the batch leaves the spool, waits there for replay, or is dropped (counted).</summary>
    void Settle(QueuedBatch<T> work, Delivery delivery);

    /// <summary>Shutdown came before its send: it stays in (or goes to) the spool, or is dropped (counted).</summary>
    void Park(QueuedBatch<T> work);

    /// <summary>The batch left memory (sent or not): gives back what it held.</summary>
    void Leave(QueuedBatch<T> work);

    /// <summary>Shutdown: takes no more batches; when the consumers never started, what is queued is dropped.</summary>
    void Complete(bool consumersStarted);

    /// <summary>The consumers ended: closes the spool.</summary>
    void Stop();
}
