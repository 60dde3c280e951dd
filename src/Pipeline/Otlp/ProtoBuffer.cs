using System.Buffers;
using Google.Protobuf;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// A pooled protobuf binary writer for <see cref="OtlpJsonTranscoder"/>. Nested records get a one
/// byte length placeholder that <see cref="EndLength"/> back-patches, shifting the content only when
/// the length needs more than one varint byte (once per large message, not per field).
/// </summary>
internal sealed class ProtoBuffer : IDisposable
{
    private byte[] _buffer;
    private byte[] _scratch;

    public ProtoBuffer(int capacityHint)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, capacityHint));
        _scratch = ArrayPool<byte>.Shared.Rent(256);
    }

    public int Position { get; set; }

    public void WriteVarint(ulong value)
    {
        Ensure(10);
        var buffer = _buffer;
        var pos = Position;
        while (value >= 0x80)
        {
            buffer[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[pos++] = (byte)value;
        Position = pos;
    }

    public void WriteFixed32(uint value)
    {
        Ensure(4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(Position), value);
        Position += 4;
    }

    public void WriteFixed64(ulong value)
    {
        Ensure(8);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(Position), value);
        Position += 8;
    }

    public void WriteLengthDelimited(ReadOnlySpan<byte> bytes)
    {
        WriteVarint((uint)bytes.Length);
        bytes.CopyTo(Reserve(bytes.Length));
    }

    /// <summary>Advances past <paramref name="length"/> bytes and returns them for the caller to fill.</summary>
    public Span<byte> Reserve(int length)
    {
        Ensure(length);
        var span = _buffer.AsSpan(Position, length);
        Position += length;
        return span;
    }

    /// <summary>Writes a length placeholder; returns where the content starts.</summary>
    public int BeginLength()
    {
        Ensure(1);
        Position++;
        return Position;
    }

    public void EndLength(int contentStart)
    {
        var length = Position - contentStart;
        if (length < 0x80)
        {
            _buffer[contentStart - 1] = (byte)length;
            return;
        }

        var extra = VarintSize((uint)length) - 1;
        Ensure(extra);
        _buffer.AsSpan(contentStart, length).CopyTo(_buffer.AsSpan(contentStart + extra));
        var pos = contentStart - 1;
        var value = (uint)length;
        while (value >= 0x80)
        {
            _buffer[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[pos] = (byte)value;
        Position += extra;
    }

    /// <summary>
    /// Drops every record of field <paramref name="number"/> written since <paramref name="start"/>:
    /// JSON replaces (or, for null, clears) a field that an object names twice (by its JSON and its
    /// proto name), where binary protobuf would merge. Rare, so a plain rescan is fine.
    /// </summary>
    public void RemoveField(int start, int number)
    {
        // Records only move towards the start, behind the reader, so reading and compacting one buffer is safe.
        var reader = new ProtoFieldReader(_buffer.AsSpan(start, Position - start));
        var write = start;
        while (reader.MoveNext())
        {
            if (reader.Number != number)
            {
                var length = reader.RecordEnd - reader.RecordStart;
                _buffer.AsSpan(start + reader.RecordStart, length).CopyTo(_buffer.AsSpan(write));
                write += length;
            }
        }

        Position = write;
    }

    /// <summary>A temporary buffer of at least <paramref name="length"/> bytes (for unescaping).</summary>
    public byte[] Scratch(int length)
    {
        if (_scratch.Length < length)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = ArrayPool<byte>.Shared.Rent(length);
        }

        return _scratch;
    }

    /// <summary>Parses what was written, under the parser's default recursion limit (the writer never nests deeper).</summary>
    public TMessage Parse<TMessage>(MessageParser<TMessage> parser)
        where TMessage : IMessage<TMessage> => parser.ParseFrom(new ReadOnlySpan<byte>(_buffer, 0, Position));

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_scratch);
        _buffer = [];
        _scratch = [];
    }

    private static int VarintSize(uint value) => value < 1u << 7 ? 1 : value < 1u << 14 ? 2 : value < 1u << 21 ? 3 : value < 1u << 28 ? 4 : 5;

    private void Ensure(int count)
    {
        if (Position + count <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, Position + count));
        _buffer.AsSpan(0, Position).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
