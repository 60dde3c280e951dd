using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.Dedup;

/// <summary>
/// Drops items whose identity was already seen within the window (rules in README.md), keeps
/// the batch consistent (item count, no empty scopes or resources) and settles the acks of a
/// batch that ends up empty, since no one downstream will. Signal specifics are the shape and
/// the item identity; everything else is shared by spans and log records.
/// </summary>
internal abstract class DedupProcessor<TShape, TResource, TScope, TItem> : IProcessor<TResource>
    where TShape : struct, IOtlpShape<TResource, TScope, TItem>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
    where TItem : class, IMessage<TItem>
{
    private readonly IConsumer<TResource> _next;
    private readonly TimeProvider _time;
    private readonly DedupTable _table;
    private readonly Lock _lock = new();
    private readonly Counter _dropped;
    private readonly Counter _evicted;
    private readonly Counter _unchecked;
    private long _evictionsCounted;

    // Encoded-batch scratch, used under the lock: item hashes in batch order (0: no identity) and
    // the ordinals found to be duplicates, ascending.
    private readonly List<ulong> _hashes = [];
    private readonly List<int> _duplicates = [];

    protected DedupProcessor(ComponentContext context, DedupConfig config, IConsumer<TResource> next, TimeProvider time, Signal signal)
    {
        _next = next;
        _time = time;

        // The table works in the time provider's timestamp units; no conversion per item.
        var window = (long)Math.Min(long.MaxValue / 4d, Math.Ceiling(config.Window.TotalSeconds * time.TimestampFrequency));
        _table = new DedupTable(config.MaxEntries, Math.Max(1, window));
        var processor = ("processor", context.Id.ToString());
        _dropped = context.Metrics.Counter($"collector_processor_dedup_dropped_{signal.ItemName()}_total", $"Duplicate {signal.ItemName()} dropped by dedup.", processor);
        _evicted = context.Metrics.Counter("collector_processor_dedup_evicted_total", "Identities evicted before their window ended because max_entries was reached.", processor);
        _unchecked = context.Metrics.Counter("collector_processor_dedup_unchecked_total", "Items passed on without a check because they have no usable identity (missing or invalid ids, no time).", processor);
        context.Metrics.Gauge("collector_processor_dedup_entries", "Identities currently remembered.", () => _table.Count, processor, ("signal", signal.ToConfigName()));
    }

    public bool MutatesData => true;

    public ValueTask ConsumeAsync(Batch<TResource> batch, CancellationToken cancellationToken)
    {
        int dropped;
        int uncheckedItems;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            uncheckedItems = 0;
            dropped = batch.TryGetEncoded(out var segments) && TryHashEncoded(segments, _hashes)
                ? FilterEncoded(batch, now, ref uncheckedItems)
                : Filter(batch.Resources, now, byOrdinal: false, ref uncheckedItems);
            var evictions = _table.Evictions;
            _evicted.Add(evictions - _evictionsCounted);
            _evictionsCounted = evictions;
        }

        _unchecked.Add(uncheckedItems);
        if (dropped == 0)
        {
            return _next.ConsumeAsync(batch, cancellationToken);
        }

        _dropped.Add(dropped);
        batch.ByteSize -= Batch<TResource>.ByteShare(batch.ByteSize, dropped, batch.ItemCount);
        batch.ItemCount = Math.Max(0, batch.ItemCount - dropped);
        if (batch.Resources.Count == 0)
        {
            // Everything was a duplicate: dropping by rule settles this holder's share of the acks.
            batch.CompleteAcks();
            return ValueTask.CompletedTask;
        }

        return _next.ConsumeAsync(batch, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract bool TryHash(TItem item, out ulong hash);

    /// <summary>
    /// The identity hashes of an encoded batch's items in batch order, read without decoding
    /// (0 stands for "no identity"; a real hash of 0, odds 2^-64, goes unchecked); false when
    /// this signal has no such reading or the bytes need the decoder.
    /// </summary>
    protected virtual bool TryHashEncoded(IReadOnlyList<ReadOnlyMemory<byte>> segments, List<ulong> hashes) => false;

    /// <summary>
    /// Checks the hashes of an encoded batch against the table; the batch stays encoded (and is
    /// forwarded as received) unless a duplicate must be cut out of it.
    /// </summary>
    private int FilterEncoded(Batch<TResource> batch, long now, ref int uncheckedItems)
    {
        _duplicates.Clear();
        for (var i = 0; i < _hashes.Count; i++)
        {
            var hash = _hashes[i];
            if (hash == 0)
            {
                uncheckedItems++;
            }
            else if (!_table.TryAdd(hash, now))
            {
                _duplicates.Add(i);
            }
        }

        if (_duplicates.Count == 0)
        {
            return 0;
        }

        return Filter(batch.Resources, now, byOrdinal: true, ref uncheckedItems);
    }

    /// <summary>
    /// Removes duplicates in place, in batch order (the first sighting is kept); scopes and resources
    /// emptied by a removal go too. <paramref name="byOrdinal"/>: the duplicates are already known
    /// (<see cref="FilterEncoded"/>), by position.
    /// </summary>
    private int Filter(RepeatedField<TResource> resources, long now, bool byOrdinal, ref int uncheckedItems)
    {
        var filter = new DuplicateFilter(this, now, byOrdinal);
        var dropped = OtlpShape<TShape, TResource, TScope, TItem>.RemoveWhere(resources, ref filter);
        uncheckedItems += filter.Unchecked;
        return dropped;
    }

    /// <summary>Picks the duplicates, by hash against the table or by the ordinals found in the encoded batch.</summary>
    private struct DuplicateFilter(DedupProcessor<TShape, TResource, TScope, TItem> owner, long now, bool byOrdinal) : IOtlpFilter<TResource, TScope, TItem>
    {
        private int _ordinal;
        private int _nextDuplicate;

        public int Unchecked { get; private set; }

        public bool Remove(TResource resource, TScope scope, TItem item)
        {
            if (byOrdinal)
            {
                var duplicates = owner._duplicates;
                var duplicate = _nextDuplicate < duplicates.Count && duplicates[_nextDuplicate] == _ordinal;
                _ordinal++;
                _nextDuplicate += duplicate ? 1 : 0;
                return duplicate;
            }

            if (owner.TryHash(item, out var hash))
            {
                return !owner._table.TryAdd(hash, now);
            }

            Unchecked++;
            return false;
        }
    }
}

internal sealed class SpanDedupProcessor(ComponentContext context, DedupConfig config, IConsumer<ResourceSpans> next, TimeProvider time)
    : DedupProcessor<TracesShape, ResourceSpans, ScopeSpans, Span>(context, config, next, time, Signal.Traces)
{
    private readonly EncodedTraces _outline = new();

    protected override bool TryHash(Span item, out ulong hash) => ItemIdentity.TryHash(item, out hash);

    protected override bool TryHashEncoded(IReadOnlyList<ReadOnlyMemory<byte>> segments, List<ulong> hashes)
    {
        hashes.Clear();
        var read = _outline.TryRead(segments);
        if (read)
        {
            foreach (var span in _outline.Spans)
            {
                hashes.Add(ItemIdentity.TryHashSpan(span.TraceId.Span, span.SpanId.Span, out var hash) ? hash : 0);
            }
        }

        // The outline points into the request: do not keep it reachable.
        _outline.Clear();
        return read;
    }
}

internal sealed class LogDedupProcessor(ComponentContext context, DedupConfig config, IConsumer<ResourceLogs> next, TimeProvider time)
    : DedupProcessor<LogsShape, ResourceLogs, ScopeLogs, LogRecord>(context, config, next, time, Signal.Logs)
{
    protected override bool TryHash(LogRecord item, out ulong hash) => ItemIdentity.TryHash(item, out hash);
}
