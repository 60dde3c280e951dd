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
        IsLengthDelimited = false;
        switch ((int)(tag & 7))
        {
            case 0:
                return OtlpWireScanner.TryReadVarint(_data, ref _pos, out _) || Fail();
            case 1:
                return (_pos += 8) <= _data.Length || Fail();
            case 5:
                return (_pos += 4) <= _data.Length || Fail();
            case 2:
                if (!OtlpWireScanner.TryReadVarint(_data, ref _pos, out var length) || length > (ulong)(_data.Length - _pos))
                {
                    return Fail();
                }

                IsLengthDelimited = true;
                Start = _pos;
                Length = (int)length;
                _pos += Length;
                return true;
            default:
                // Groups are not used by OTLP; 6 and 7 are invalid.
                return Fail();
        }
    }

    private bool Fail()
    {
        Failed = true;
        return false;
    }
}
