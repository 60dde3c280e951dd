using System.Runtime.InteropServices;
using Collector.Pipeline;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.LangtraceMerge;

/// <summary>A buffered span; <see cref="Dropped"/> is set when dual-link de-duplication merged it away.</summary>
internal struct BufferedSpan
{
    /// <summary>Null while the span is held as <see cref="Encoded"/>; <see cref="TraceEntry.DecodeHeldSpans"/> fills it before any rule runs.</summary>
    public Span Span;

    /// <summary>
    /// The span's received bytes (a slice of its request) while it waits: one array per request
    /// for the GC to look at instead of a graph of objects per span that would age into gen2.
    /// </summary>
    public ReadOnlyMemory<byte> Encoded;

    public ScopeOrigin Origin;
    public bool Dropped;

    public BufferedSpan(Span span, ScopeOrigin origin)
    {
        Span = span;
        Origin = origin;
    }

    public BufferedSpan(ReadOnlyMemory<byte> encoded, ScopeOrigin origin)
    {
        Span = null!;
        Encoded = encoded;
        Origin = origin;
    }
}

internal enum EventFate : byte
{
    /// <summary>Not yet decided, or left for the logs pipeline (orphan): the record goes out unchanged.</summary>
    PassOn,

    /// <summary>Merged into its span (attributes or span event) or dropped as a duplicate: it leaves the logs stream.</summary>
    Consumed,
}

/// <summary>A buffered AI event: a log record with trace id, span id and event name.</summary>
internal struct BufferedEvent(LogRecord record, ScopeOrigin origin, ulong spanKey, string name, bool nameFromAttribute)
{
    public LogRecord Record = record;
    public ScopeOrigin Origin = origin;
    public ulong SpanKey = spanKey;
    public string Name = name;
    public bool NameFromAttribute = nameFromAttribute;
    public EventFate Fate;

    public readonly ulong Time => Record.TimeUnixNano != 0 ? Record.TimeUnixNano : Record.ObservedTimeUnixNano;
}

/// <summary>A client request's ack held by a buffered trace until the trace leaves (one holder per request per trace).</summary>
internal readonly record struct HeldAck(DeliveryAck Ack, int Port, bool Logs);

/// <summary>Everything buffered for one trace id, linked into the buffer's recency list.</summary>
internal sealed class TraceEntry(TraceKey key)
{
    public TraceKey Key { get; } = key;

    /// <summary>Stopwatch timestamp of the latest item.</summary>
    public long LastArrival;

    public TraceEntry? Older;
    public TraceEntry? Newer;

    public List<BufferedSpan>? Spans;
    public List<BufferedEvent>? Events;
    public List<HeldAck>? Acks;

    /// <summary>Intake sequence number of the request whose acks were last added (one holder per request).</summary>
    public long AckedIntake;

    public int SpanCount => Spans?.Count ?? 0;

    /// <summary>
    /// Decodes the spans held as bytes. Those bytes passed the receiver's wire scan, so the parser
    /// accepts them; should one still fail, it is marked dropped and counted in <paramref name="failures"/>.
    /// </summary>
    public void DecodeHeldSpans(ref int failures)
    {
        foreach (ref var held in CollectionsMarshal.AsSpan(Spans))
        {
            if (held.Span is not null)
            {
                continue;
            }

            try
            {
                held.Span = Span.Parser.ParseFrom(held.Encoded.Span);
            }
            catch (InvalidProtocolBufferException)
            {
                held.Span = new Span();
                held.Dropped = true;
                failures++;
            }

            held.Encoded = default;
        }
    }

    public int EventCount => Events?.Count ?? 0;
}

/// <summary>
/// Trace id -> entry, plus a doubly linked list ordered by last arrival, so that lookup, touch,
/// "oldest" and "expired" are O(1) each. Not thread-safe: the owner serialises access.
/// </summary>
internal sealed class TraceBuffer
{
    private readonly Dictionary<TraceKey, TraceEntry> _entries = [];
    private TraceEntry? _oldest;
    private TraceEntry? _newest;
    private int _count;
    private int _spans;
    private int _events;

    // Counts are also read by the metrics scrape on another thread, hence the volatile access.
    public int Count => Volatile.Read(ref _count);

    public int SpanCount => Volatile.Read(ref _spans);

    public int EventCount => Volatile.Read(ref _events);

    public TraceEntry? Oldest => _oldest;

    public bool TryGet(TraceKey key, out TraceEntry entry) => _entries.TryGetValue(key, out entry!);

    public TraceEntry Add(TraceKey key)
    {
        var entry = new TraceEntry(key);
        _entries.Add(key, entry);
        Volatile.Write(ref _count, _entries.Count);
        return entry;
    }

    /// <summary>Records that a span (or, with <paramref name="isEvent"/>, an event) arrived now: the entry becomes the newest.</summary>
    public void Touch(TraceEntry entry, long now, bool isEvent)
    {
        entry.LastArrival = now;
        if (isEvent)
        {
            Volatile.Write(ref _events, _events + 1);
        }
        else
        {
            Volatile.Write(ref _spans, _spans + 1);
        }

        if (_newest == entry)
        {
            return;
        }

        Unlink(entry);
        entry.Older = _newest;
        entry.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = entry;
        }

        _newest = entry;
        _oldest ??= entry;
    }

    public void Remove(TraceEntry entry)
    {
        if (!_entries.Remove(entry.Key))
        {
            return;
        }

        Unlink(entry);
        entry.Older = entry.Newer = null;
        Volatile.Write(ref _count, _entries.Count);
        Volatile.Write(ref _spans, _spans - entry.SpanCount);
        Volatile.Write(ref _events, _events - entry.EventCount);
    }

    /// <summary>Removes every entry, oldest first, into <paramref name="into"/>.</summary>
    public void RemoveAll(List<TraceEntry> into)
    {
        while (_oldest is { } entry)
        {
            Remove(entry);
            into.Add(entry);
        }
    }

    private void Unlink(TraceEntry entry)
    {
        if (entry.Older is not null)
        {
            entry.Older.Newer = entry.Newer;
        }
        else if (_oldest == entry)
        {
            _oldest = entry.Newer;
        }

        if (entry.Newer is not null)
        {
            entry.Newer.Older = entry.Older;
        }
        else if (_newest == entry)
        {
            _newest = entry.Older;
        }
    }
}
