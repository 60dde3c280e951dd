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
    private static long s_materialised;
    private static long s_fromEncoded;

    private RepeatedField<T>? _resources;

    /// <summary>Complete serialized Export*ServiceRequests; repeated fields concatenate, so together they are one request.</summary>
    private List<ReadOnlyMemory<byte>>? _encoded;

    public Batch(RepeatedField<T> resources, int itemCount, long byteSize = 0, string? clientAddress = null)
    {
        _resources = resources;
        ItemCount = itemCount;
        ByteSize = byteSize;
        ClientAddress = clientAddress;
        ReceivedAt = DateTimeOffset.UtcNow;
    }

    private Batch(List<ReadOnlyMemory<byte>> encoded, int itemCount, long byteSize, string? clientAddress)
    {
        _encoded = encoded;
        ItemCount = itemCount;
        ByteSize = byteSize;
        ClientAddress = clientAddress;
        ReceivedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// The resource list. A batch that still carries its received bytes decodes them on first access
    /// and drops them, since the caller may mutate what it gets.
    /// </summary>
    public RepeatedField<T> Resources => Volatile.Read(ref _resources) ?? Materialise();

    /// <summary>How many encoded batches were decoded since start (all signals of this type); a test hook.</summary>
    internal static long MaterialisedCount => Interlocked.Read(ref s_materialised);

    /// <summary>How many batches were made from received bytes since start; a test hook.</summary>
    internal static long FromEncodedCount => Interlocked.Read(ref s_fromEncoded);

    /// <summary>Spans, metric data points or log records; kept in step by whoever changes <see cref="Resources"/>.</summary>
    public int ItemCount { get; set; }

    /// <summary>
    /// Encoded size (0 when unknown): as received, or for a batch a processor made or cut, its share
    /// (<see cref="ByteShare"/>) or its calculated size. Used for memory accounting: admission and the
    /// exporter queue's <c>sizer: bytes</c>. Whoever changes <see cref="Resources"/> keeps it in step.
    /// </summary>
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

    /// <summary>
    /// A batch over one received, already validated Export*ServiceRequest. The bytes are shared, never
    /// written: several batches (one per pipeline) may hold the same array.
    /// </summary>
    public static Batch<T> FromEncoded(byte[] request, int itemCount, long byteSize, string? clientAddress)
    {
        Interlocked.Increment(ref s_fromEncoded);
        return new([request], itemCount, byteSize, clientAddress);
    }

    /// <summary>
    /// The byte share of <paramref name="items"/> out of <paramref name="ofItems"/> items that together
    /// take <paramref name="byteSize"/> bytes: in proportion to the items, so that cutting or splitting
    /// a batch (dedup, langtrace_merge intake, batch splits) needs no second pass over its data.
    /// </summary>
    public static long ByteShare(long byteSize, int items, int ofItems) =>
        ofItems <= 0 || byteSize <= 0 ? 0 : byteSize * Math.Clamp(items, 0, ofItems) / ofItems;

    /// <summary>
    /// <see cref="ByteSize"/>, or when unknown (0) the encoded size measured now: the length of the
    /// received bytes, else one walk over the decoded messages. Does not store it: the batch may be shared.
    /// </summary>
    public long MeasureByteSize()
    {
        if (ByteSize > 0)
        {
            return ByteSize;
        }

        return Volatile.Read(ref _encoded) is { } encoded ? LengthOf(encoded) : SignalOps<T>.CalculateRequestSize(Resources);
    }

    /// <summary>The encoded requests this batch consists of; false once <see cref="Resources"/> was touched.</summary>
    /// <remarks>
    /// Non-mutating exporters share one batch and may run at once: use the returned list (never
    /// changed once handed on) rather than asking again, since another reader may materialise meanwhile.
    /// </remarks>
    public bool TryGetEncoded(out IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        var encoded = Volatile.Read(ref _encoded);
        segments = (IReadOnlyList<ReadOnlyMemory<byte>>?)encoded ?? [];
        return encoded is not null;
    }

    /// <summary>The batch as one Export*ServiceRequest: its received bytes while it still has them, else serialised.</summary>
    public byte[] ToRequestBytes() =>
        TryGetEncoded(out var segments) ? Concat(segments) : SignalOps<T>.Instance.SerializeRequest(Resources);

    /// <summary>Total length of encoded segments.</summary>
    public static int LengthOf(IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        var length = 0;
        for (var i = 0; i < segments.Count; i++)
        {
            length += segments[i].Length;
        }

        return length;
    }

    /// <summary>Encoded segments as one request (no copy when there is a single whole array).</summary>
    public static byte[] Concat(IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        if (segments.Count == 1 && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(segments[0], out var whole)
            && whole.Offset == 0 && whole.Count == whole.Array!.Length)
        {
            return whole.Array;
        }

        // Uninitialised: the segments fill every byte.
        var bytes = GC.AllocateUninitializedArray<byte>(LengthOf(segments));
        var at = 0;
        for (var i = 0; i < segments.Count; i++)
        {
            segments[i].Span.CopyTo(bytes.AsSpan(at));
            at += segments[i].Length;
        }

        return bytes;
    }

    /// <summary>
    /// Appends the encoded items of <paramref name="other"/> (not its counts or acks) when both batches
    /// are still encoded; false (and nothing done) otherwise.
    /// </summary>
    public bool TryAppendEncoded(Batch<T> other)
    {
        if (_encoded is null || other._encoded is null)
        {
            return false;
        }

        _encoded.AddRange(other._encoded);
        return true;
    }

    /// <summary>
    /// Halves a copy of <paramref name="batch"/> (the original may be shared with other consumers) for a
    /// store whose rows it does not fit: the parts carry no acks. False when it cannot be split (a single
    /// item, or one metric holding every point).
    /// </summary>
    internal static bool TrySplitCopy(Batch<T> batch, out Batch<T> first, out Batch<T> rest)
    {
        var resources = new RepeatedField<T>();
        foreach (var resource in batch.Resources)
        {
            resources.Add(resource.Clone());
        }

        var head = SignalOps<T>.Instance.SplitOff(resources, batch.ItemCount / 2, out var moved);
        var firstBytes = ByteShare(batch.ByteSize, moved, batch.ItemCount);
        first = new Batch<T>(head, moved, firstBytes) { ReceivedAt = batch.ReceivedAt };
        rest = new Batch<T>(resources, batch.ItemCount - moved, batch.ByteSize - firstBytes) { ReceivedAt = batch.ReceivedAt };
        return moved > 0 && moved < batch.ItemCount;
    }

    /// <summary>A copy for another consumer: encoded segments are shared (immutable), decoded resources deep-cloned.</summary>
    public Batch<T> Clone()
    {
        Batch<T> copy;
        if (Volatile.Read(ref _encoded) is { } encoded)
        {
            copy = new Batch<T>([.. encoded], ItemCount, ByteSize, ClientAddress);
        }
        else
        {
            var resources = new RepeatedField<T>();
            foreach (var r in Resources)
            {
                resources.Add(r.Clone());
            }

            copy = new Batch<T>(resources, ItemCount, ByteSize, ClientAddress);
        }

        copy.ReceivedAt = ReceivedAt;

        // Its own list (same acks): a consumer that merges batches must not grow the original's list.
        copy.Acks = Acks is null ? null : [.. Acks];
        return copy;
    }

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

    /// <summary>
    /// This holder is done with the batch in one step: it was delivered, made durable, or dropped by
    /// rule. A holder that keeps the batch in memory first calls <see cref="SettleTaken"/> and later
    /// <see cref="SettleDelivered"/> or <see cref="FailDelivery"/> instead.
    /// </summary>
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

    /// <summary>
    /// This holder took the batch into memory (an exporter queue): the acks that do not wait for
    /// delivery complete; those of a durable pipeline door wait for <see cref="SettleDelivered"/>.
    /// </summary>
    public void SettleTaken() => Settle(waitsForDelivery: false, failure: null);

    /// <summary>After <see cref="SettleTaken"/>: the batch was sent, spooled, or dropped by an explicit rule.</summary>
    public void SettleDelivered() => Settle(waitsForDelivery: true, failure: null);

    /// <summary>After <see cref="SettleTaken"/>: the batch was lost before it was sent or spooled (shutdown, spool error).</summary>
    public void FailDelivery(string reason) => Settle(waitsForDelivery: true, failure: reason);

    /// <summary>This holder could not take the batch: the client should retry (a durable door keeps the request for replay).</summary>
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

    private void Settle(bool waitsForDelivery, string? failure)
    {
        if (Acks is null)
        {
            return;
        }

        foreach (var ack in Acks)
        {
            if (ack.WaitsForDelivery != waitsForDelivery)
            {
                continue;
            }

            if (failure is null)
            {
                ack.Complete();
            }
            else
            {
                ack.Fail(failure);
            }
        }
    }

    private RepeatedField<T> Materialise()
    {
        // Readers sharing a batch may race here: one decode wins, and the bytes go only after the
        // decoded form is visible, so TryGetEncoded never sees neither.
        if (Volatile.Read(ref _encoded) is not { } encoded)
        {
            return Volatile.Read(ref _resources)!;
        }

        var decoded = SignalOps<T>.Instance.ParseRequest(Concat(encoded));
        var winner = Interlocked.CompareExchange(ref _resources, decoded, null) ?? decoded;
        Volatile.Write(ref _encoded, null);
        Interlocked.Increment(ref s_materialised);
        return winner;
    }
}

/// <summary>
/// Completion handle of one client request in one pipeline: counts the holders of its data;
/// completes when all have settled, fails as soon as one fails. Two kinds (docs/architecture.md,
/// "Acks and durability"): an answer ack (a write_ahead exporter spool; the client waits for it)
/// settles when each holder has the data durably or in memory; a delivery ack (durable ingress;
/// its log entry is released by it) settles only when each holder has sent, spooled or dropped it by rule.
/// </summary>
public sealed class DeliveryAck(bool waitsForDelivery = false)
{
    private readonly TaskCompletionSource<string?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending = 1;

    /// <summary>True for a durable ingress ack: exporters settle it on delivery, not when they queue the batch.</summary>
    public bool WaitsForDelivery { get; } = waitsForDelivery;

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
