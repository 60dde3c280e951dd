namespace Collector.LoadGen;

/// <summary>A lock-free set of span sequence numbers (chunked bitmap), counting first and repeated adds.</summary>
internal sealed class SequenceSet
{
    private const int ChunkBits = 1 << 20;
    private readonly long[]?[] _chunks = new long[4096][];
    private long _unique;
    private long _duplicates;

    public long Unique => Interlocked.Read(ref _unique);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public void Add(ulong sequence)
    {
        var chunk = Chunk(sequence);
        var bit = (long)(sequence % ChunkBits);
        var mask = 1L << (int)(bit & 63);
        var before = Interlocked.Or(ref chunk[bit >> 6], mask);
        if ((before & mask) == 0)
        {
            Interlocked.Increment(ref _unique);
        }
        else
        {
            Interlocked.Increment(ref _duplicates);
        }
    }

    public bool Contains(ulong sequence)
    {
        var chunk = _chunks[(int)(sequence / ChunkBits)];
        var bit = (long)(sequence % ChunkBits);
        return chunk is not null && (Volatile.Read(ref chunk[bit >> 6]) & (1L << (int)(bit & 63))) != 0;
    }

    private long[] Chunk(ulong sequence)
    {
        var index = (int)(sequence / ChunkBits);
        var chunk = Volatile.Read(ref _chunks[index]);
        if (chunk is null)
        {
            Interlocked.CompareExchange(ref _chunks[index], new long[ChunkBits / 64], null);
            chunk = _chunks[index]!;
        }

        return chunk;
    }
}
