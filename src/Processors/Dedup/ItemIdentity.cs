using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.Dedup;

/// <summary>
/// 64-bit identity hashes of spans and log records, computed without allocation. Two different
/// identities share a hash with probability about 2^-64 per pair, so among <c>max_entries</c>
/// remembered identities a false "duplicate" has odds of roughly max_entries / 2^64 per item.
/// </summary>
internal static class ItemIdentity
{
    /// <summary>(trace_id, span_id); false when either id is missing, of the wrong length or all zero.</summary>
    public static bool TryHash(Span span, out ulong hash) => TryHashSpan(span.TraceId.Span, span.SpanId.Span, out hash);

    /// <summary>The same identity from raw id bytes (an encoded span).</summary>
    public static bool TryHashSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, out ulong hash)
    {
        hash = 0;
        if (traceId.Length != 16 || spanId.Length != 8 || IsZero(traceId) || IsZero(spanId))
        {
            return false;
        }

        var hasher = new Hasher(0x5350414e);
        hasher.Add(BinaryPrimitives.ReadUInt64LittleEndian(traceId));
        hasher.Add(BinaryPrimitives.ReadUInt64LittleEndian(traceId[8..]));
        hasher.Add(BinaryPrimitives.ReadUInt64LittleEndian(spanId));
        hash = hasher.Finish();
        return true;
    }

    /// <summary>
    /// (trace id, span id, time, event name, body). The time is time_unix_nano, else
    /// observed_time_unix_nano; a record with neither, or with ids of a wrong length, has no identity.
    /// Records outside any trace (no ids) are still identified by time, event name and body.
    /// </summary>
    public static bool TryHash(LogRecord record, out ulong hash)
    {
        hash = 0;
        var traceId = record.TraceId.Span;
        var spanId = record.SpanId.Span;
        var time = record.TimeUnixNano != 0 ? record.TimeUnixNano : record.ObservedTimeUnixNano;
        if (time == 0 || (traceId.Length != 0 && traceId.Length != 16) || (spanId.Length != 0 && spanId.Length != 8))
        {
            return false;
        }

        var hasher = new Hasher(0x4c4f47);
        hasher.AddBytes(traceId);
        hasher.AddBytes(spanId);
        hasher.Add(time);
        var eventName = record.EventName.Length > 0
            ? record.EventName
            : OtlpAttributes.FindString(record.Attributes, GenAiConventions.EventNameAttribute) ?? string.Empty;
        hasher.AddString(eventName);
        if (record.Body is not null)
        {
            hasher.AddValue(record.Body);
        }

        hash = hasher.Finish();
        return true;
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);

    /// <summary>Streaming 64-bit hash: each word is folded in and mixed with the murmur3 finaliser.</summary>
    private struct Hasher(ulong seed)
    {
        private ulong _state = Mix(seed ^ 0x9E3779B97F4A7C15UL);

        public void Add(ulong value) => _state = Mix(_state ^ Mix(value + 0x9E3779B97F4A7C15UL));

        /// <summary>Length-prefixed, so ("ab","c") and ("a","bc") differ.</summary>
        public void AddBytes(ReadOnlySpan<byte> bytes)
        {
            Add((ulong)bytes.Length);
            while (bytes.Length >= 8)
            {
                Add(BinaryPrimitives.ReadUInt64LittleEndian(bytes));
                bytes = bytes[8..];
            }

            if (bytes.Length > 0)
            {
                ulong tail = 0;
                for (var i = 0; i < bytes.Length; i++)
                {
                    tail |= (ulong)bytes[i] << (8 * i);
                }

                Add(tail);
            }
        }

        public void AddString(string value) => AddBytes(MemoryMarshal.AsBytes(value.AsSpan()));

        public void AddValue(AnyValue value)
        {
            Add((ulong)value.ValueCase);
            switch (value.ValueCase)
            {
                case AnyValue.ValueOneofCase.StringValue:
                    AddString(value.StringValue);
                    break;
                case AnyValue.ValueOneofCase.BoolValue:
                    Add(value.BoolValue ? 1UL : 0UL);
                    break;
                case AnyValue.ValueOneofCase.IntValue:
                    Add((ulong)value.IntValue);
                    break;
                case AnyValue.ValueOneofCase.DoubleValue:
                    Add((ulong)BitConverter.DoubleToInt64Bits(value.DoubleValue));
                    break;
                case AnyValue.ValueOneofCase.BytesValue:
                    AddBytes(value.BytesValue.Span);
                    break;
                case AnyValue.ValueOneofCase.ArrayValue:
                    Add((ulong)value.ArrayValue.Values.Count);
                    foreach (var item in value.ArrayValue.Values)
                    {
                        AddValue(item);
                    }

                    break;
                case AnyValue.ValueOneofCase.KvlistValue:
                    Add((ulong)value.KvlistValue.Values.Count);
                    foreach (var kv in value.KvlistValue.Values)
                    {
                        AddString(kv.Key);
                        if (kv.Value is not null)
                        {
                            AddValue(kv.Value);
                        }
                    }

                    break;
            }
        }

        public readonly ulong Finish() => Mix(_state);

        private static ulong Mix(ulong x)
        {
            x ^= x >> 33;
            x *= 0xff51afd7ed558ccdUL;
            x ^= x >> 33;
            x *= 0xc4ceb9fe1a85ec53UL;
            x ^= x >> 33;
            return x;
        }
    }
}
