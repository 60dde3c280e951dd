namespace Collector.Processors.Dedup;

/// <summary>
/// A fixed-size set of 64-bit identity hashes with first-seen times, for "seen within the
/// window?" checks. Memory is allocated once in the constructor and never grows:
/// a ring of <c>maxEntries</c> (hash, time) entries in insertion order, and an open-addressing
/// index (linear probing, load factor at most 1/2) of ring positions. Because insertion times
/// only grow, the oldest entry is always at the ring head: expiry and eviction both pop the head.
/// Not thread-safe; the owner serialises access.
/// </summary>
internal sealed class DedupTable
{
    private const int Empty = -1;

    private readonly Entry[] _ring;
    private readonly int[] _index;
    private readonly int _mask;
    private readonly long _window;
    private int _head;
    private int _count;
    private long _lastTime = long.MinValue;

    /// <param name="maxEntries">Most identities remembered; the oldest is evicted to make room.</param>
    /// <param name="window">How long an identity is remembered, in the unit of the times passed in.</param>
    public DedupTable(int maxEntries, long window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _ring = new Entry[maxEntries];
        var capacity = (int)Math.Min(1L << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)maxEntries * 2));
        _index = new int[capacity];
        Array.Fill(_index, Empty);
        _mask = capacity - 1;
        _window = window;
    }

    public int Count => _count;

    public int MaxEntries => _ring.Length;

    /// <summary>Entries evicted before their window ended because the table was full.</summary>
    public long Evictions { get; private set; }

    /// <summary>Bytes held by the table's arrays (excluding object headers), divided by <see cref="MaxEntries"/>.</summary>
    public double BytesPerEntry => ((_ring.Length * (double)System.Runtime.CompilerServices.Unsafe.SizeOf<Entry>()) + (_index.Length * (double)sizeof(int))) / _ring.Length;

    /// <summary>
    /// Records <paramref name="hash"/> seen at <paramref name="now"/>; false when it was already
    /// seen within the window (a duplicate). The window counts from the first sighting.
    /// </summary>
    public bool TryAdd(ulong hash, long now)
    {
        // A clock that steps back must not break the ring's time order.
        now = Math.Max(now, _lastTime);
        _lastTime = now;
        ExpireOlderThan(now - _window);

        var slot = (int)Home(hash);
        while (_index[slot] != Empty)
        {
            if (_ring[_index[slot]].Hash == hash)
            {
                return false;
            }

            slot = (slot + 1) & _mask;
        }

        if (_count == _ring.Length)
        {
            RemoveHead();
            Evictions++;

            // The removal may have shifted entries into the probe path; find the free slot again.
            slot = (int)Home(hash);
            while (_index[slot] != Empty)
            {
                slot = (slot + 1) & _mask;
            }
        }

        var position = (_head + _count) % _ring.Length;
        _ring[position] = new Entry(hash, now);
        _index[slot] = position;
        _count++;
        return true;
    }

    private void ExpireOlderThan(long limit)
    {
        while (_count > 0 && _ring[_head].Time <= limit)
        {
            RemoveHead();
        }
    }

    private void RemoveHead()
    {
        var hash = _ring[_head].Hash;
        var slot = (int)Home(hash);
        while (_index[slot] != _head)
        {
            slot = (slot + 1) & _mask;
        }

        DeleteSlot(slot);
        _head = (_head + 1) % _ring.Length;
        _count--;
    }

    /// <summary>Backward-shift deletion: keeps every probe chain unbroken without tombstones.</summary>
    private void DeleteSlot(int hole)
    {
        var next = hole;
        while (true)
        {
            next = (next + 1) & _mask;
            var position = _index[next];
            if (position == Empty)
            {
                break;
            }

            var home = (int)Home(_ring[position].Hash);

            // Move the entry into the hole unless its home lies cyclically in (hole, next].
            var homeInRange = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
            if (!homeInRange)
            {
                _index[hole] = position;
                hole = next;
            }
        }

        _index[hole] = Empty;
    }

    private uint Home(ulong hash) => (uint)(hash >> 32 ^ hash) & (uint)_mask;

    private readonly record struct Entry(ulong Hash, long Time);
}
