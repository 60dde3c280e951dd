using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Unicode;
using Google.Protobuf.Reflection;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// Walks an encoded Export*ServiceRequest without decoding it, guided by the field table:
/// checks the whole wire structure the way Google.Protobuf's parser would read it, counts the items
/// and checks span / log record ids. Any doubt (malformed input, invalid ids, groups, oneof members
/// overriding each other) answers <see cref="OtlpScanResult.Doubtful"/>, and the caller decodes
/// instead: the decoder then produces the exact error or partial success it always did. Nesting
/// deeper than <see cref="OtlpLimits.MaxMessageDepth"/> (the parser's own limit) is
/// <see cref="OtlpScanResult.TooDeep"/>: the receivers refuse it without decoding.
/// </summary>
internal static class OtlpWireScanner
{
    private static readonly OtlpMessageFields TracesRoot = OtlpFieldTable.For(ExportTraceServiceRequest.Descriptor);
    private static readonly OtlpMessageFields MetricsRoot = OtlpFieldTable.For(ExportMetricsServiceRequest.Descriptor);
    private static readonly OtlpMessageFields LogsRoot = OtlpFieldTable.For(ExportLogsServiceRequest.Descriptor);

    /// <summary>True when <paramref name="request"/> is well formed with valid ids; <paramref name="items"/> is then its item count.</summary>
    public static bool TryScan(Signal signal, ReadOnlySpan<byte> request, out int items) =>
        Scan(signal, request, out items) == OtlpScanResult.Valid;

    /// <summary>Like <see cref="TryScan"/>, telling a request nested too deep for any parser from one only doubtful.</summary>
    public static OtlpScanResult Scan(Signal signal, ReadOnlySpan<byte> request, out int items)
    {
        var root = signal switch
        {
            Signal.Traces => TracesRoot,
            Signal.Metrics => MetricsRoot,
            _ => LogsRoot,
        };
        var state = default(ScanState);
        var valid = ScanMessage(root, request, 0, ref state);
        items = valid ? state.Items : 0;
        return valid ? OtlpScanResult.Valid : state.TooDeep ? OtlpScanResult.TooDeep : OtlpScanResult.Doubtful;
    }

    private static bool ScanMessage(OtlpMessageFields node, ReadOnlySpan<byte> data, int depth, ref ScanState state)
    {
        // The one cost of the limit: a compare per sub-message, as the parser's own recursion check.
        if (depth > OtlpLimits.MaxMessageDepth)
        {
            state.TooDeep = true;
            return false;
        }

        // Item ids: the parser keeps the last occurrence of a field, so do we.
        int traceId = 0, spanId = 0, parentId = 0;
        var oneofMember = 0;
        var fields = node.ByNumber;
        var pos = 0;
        while (pos < data.Length)
        {
            // Tags and most lengths are one byte: read those without the general varint loop.
            ulong tag = data[pos];
            if (tag < 0x80)
            {
                pos++;
            }
            else if (!TryReadVarint(data, ref pos, out tag) || tag > uint.MaxValue)
            {
                return false;
            }

            var number = (int)(tag >> 3);
            var wire = (int)(tag & 7);
            if (number == 0)
            {
                return false;
            }

            var field = (uint)number < (uint)fields.Length ? fields[number] : null;
            if (wire != 2)
            {
                if (!TrySkipScalar(data, ref pos, wire))
                {
                    return false;
                }
            }
            else
            {
                ulong length = pos < data.Length ? data[pos] : 0x80UL;
                if (length < 0x80)
                {
                    pos++;
                }
                else if (!TryReadVarint(data, ref pos, out length))
                {
                    return false;
                }

                if (length > (ulong)(data.Length - pos))
                {
                    return false;
                }

                var payload = data.Slice(pos, (int)length);
                pos += (int)length;
                if (field is not null && field.Accepts(2))
                {
                    // Strings, ids and sub-messages are nearly every field: handled here, without a call.
                    switch (field.Content)
                    {
                        case OtlpFieldContent.Message:
                            if (!ScanMessage(field.Message!, payload, depth + 1, ref state))
                            {
                                return false;
                            }

                            break;
                        case OtlpFieldContent.String:
                            if (!IsValidUtf8(payload))
                            {
                                return false;
                            }

                            break;
                        // An all-zero id counts as no valid length (-1): spans need non-zero ids, so such a
                        // span is doubtful and the decoder drops it; a log record's zero ids likewise go
                        // to the decoder, which keeps them (optional there).
                        case OtlpFieldContent.TraceId:
                            traceId = payload.IsEmpty || payload.ContainsAnyExcept((byte)0) ? payload.Length : -1;
                            break;
                        case OtlpFieldContent.SpanId:
                            spanId = payload.IsEmpty || payload.ContainsAnyExcept((byte)0) ? payload.Length : -1;
                            break;
                        case OtlpFieldContent.ParentSpanId:
                            parentId = payload.Length;
                            break;
                        case OtlpFieldContent.Bytes:
                            break;
                        default:
                            if (!ScanPacked(field.Type, payload))
                            {
                                return false;
                            }

                            break;
                    }
                }
            }

            if (field is not null && field.InRealOneof && field.Accepts(wire))
            {
                if (oneofMember != 0 && oneofMember != number)
                {
                    return false;
                }

                oneofMember = number;
            }
        }

        return node.Kind switch
        {
            OtlpItemKind.Span => Count(ref state.Items) && traceId == 16 && spanId == 8 && parentId is 0 or 8,
            OtlpItemKind.LogRecord => Count(ref state.Items) && traceId is 0 or 16 && spanId is 0 or 8,
            OtlpItemKind.DataPoint => Count(ref state.Items),
            _ => true,
        };
    }

    /// <summary>Steps over a varint, fixed64 or fixed32 value; groups (3, 4) are not used by OTLP, 6 and 7 are invalid.</summary>
    internal static bool TrySkipScalar(ReadOnlySpan<byte> data, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0:
                return TryReadVarint(data, ref pos, out _);
            case 1:
                return (pos += 8) <= data.Length;
            case 5:
                return (pos += 4) <= data.Length;
            default:
                return false;
        }
    }

    private static bool Count(ref int items)
    {
        items++;
        return true;
    }

    /// <summary>
    /// UTF-8 check with a fast path for the short ASCII strings that are most keys and values: one
    /// OR over 8-byte words instead of a call into the vectorised validator.
    /// </summary>
    private static bool IsValidUtf8(ReadOnlySpan<byte> text)
    {
        if (text.Length <= 32)
        {
            ref var start = ref MemoryMarshal.GetReference(text);
            ulong bits = 0;
            var i = 0;
            for (; i + 8 <= text.Length; i += 8)
            {
                bits |= Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            }

            for (; i < text.Length; i++)
            {
                bits |= Unsafe.Add(ref start, i);
            }

            if ((bits & 0x8080808080808080UL) == 0)
            {
                return true;
            }
        }

        return Utf8.IsValid(text);
    }

    /// <summary>A packed repeated scalar: whole varints or whole fixed-size values only.</summary>
    private static bool ScanPacked(FieldType type, ReadOnlySpan<byte> payload)
    {
        switch (type)
        {
            case FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64:
                return payload.Length % 8 == 0;
            case FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32:
                return payload.Length % 4 == 0;
            default:
                var pos = 0;
                while (pos < payload.Length)
                {
                    if (!TryReadVarint(payload, ref pos, out _))
                    {
                        return false;
                    }
                }

                return true;
        }
    }

    internal static bool TryReadVarint(ReadOnlySpan<byte> data, ref int pos, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70 && pos < data.Length; shift += 7)
        {
            var b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private struct ScanState
    {
        public int Items;

        /// <summary>Set where the scan stopped for depth alone.</summary>
        public bool TooDeep;
    }
}

/// <summary>What the wire scanner made of a request.</summary>
internal enum OtlpScanResult
{
    /// <summary>Well formed with valid ids: it may travel as bytes.</summary>
    Valid,

    /// <summary>Malformed, invalid ids, or a shape the scanner does not vouch for: decode it.</summary>
    Doubtful,

    /// <summary>Nested deeper than <see cref="OtlpLimits.MaxMessageDepth"/>: no parser reads it, refuse it.</summary>
    TooDeep,
}
