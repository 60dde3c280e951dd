using System.Buffers.Binary;
using Google.Protobuf;

namespace Collector.Processors.LangtraceMerge;

/// <summary>A trace id as two integers: a dictionary key without allocation.</summary>
internal readonly record struct TraceKey(ulong High, ulong Low);

/// <summary>OTLP id checks: a valid trace id is 16 bytes, a valid span id 8 bytes, neither all zero.</summary>
internal static class Ids
{
    public static bool TryTrace(ByteString id, out TraceKey key) => TryTrace(id.Span, out key);

    public static bool TryTrace(ReadOnlySpan<byte> span, out TraceKey key)
    {
        key = default;
        if (span.Length != 16)
        {
            return false;
        }

        key = new TraceKey(BinaryPrimitives.ReadUInt64BigEndian(span), BinaryPrimitives.ReadUInt64BigEndian(span[8..]));
        return key.High != 0 || key.Low != 0;
    }

    /// <summary>The span id as an integer; 0 (never a valid id) when absent or malformed.</summary>
    public static ulong Span(ByteString id) => Span(id.Span);

    public static ulong Span(ReadOnlySpan<byte> id) => id.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(id) : 0;
}
