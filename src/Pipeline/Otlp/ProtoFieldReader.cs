namespace Collector.Pipeline.Otlp;

/// <summary>
/// The top-level fields of one encoded message: number, wire type, each record's range and, when
/// length-delimited, the payload's range. Stops with <see cref="Failed"/> on malformed input
/// (truncated, groups, invalid wire types, field number 0).
/// </summary>
internal ref struct ProtoFieldReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public int Number { get; private set; }

    /// <summary>Where the current record (tag included) starts.</summary>
    public int RecordStart { get; private set; }

    /// <summary>Where the current record ends: the next one starts here.</summary>
    public readonly int RecordEnd => _pos;

    public bool IsLengthDelimited { get; private set; }

    public int Start { get; private set; }

    public int Length { get; private set; }

    public bool Failed { get; private set; }

    public bool MoveNext()
    {
        if (_pos >= _data.Length)
        {
            return false;
        }

        RecordStart = _pos;
        if (!OtlpWireScanner.TryReadVarint(_data, ref _pos, out var tag) || tag > uint.MaxValue || (tag >> 3) == 0)
        {
            return Fail();
        }

        Number = (int)(tag >> 3);
        var wire = (int)(tag & 7);
        IsLengthDelimited = wire == 2;
        if (!IsLengthDelimited)
        {
            return OtlpWireScanner.TrySkipScalar(_data, ref _pos, wire) || Fail();
        }

        if (!OtlpWireScanner.TryReadVarint(_data, ref _pos, out var length) || length > (ulong)(_data.Length - _pos))
        {
            return Fail();
        }

        Start = _pos;
        Length = (int)length;
        _pos += Length;
        return true;
    }

    private bool Fail()
    {
        Failed = true;
        return false;
    }
}
