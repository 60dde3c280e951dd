using System.Globalization;
using System.Text.Json;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// An attribute value as plain JSON (not the OTLP/JSON <c>{"stringValue": ...}</c> wrapping):
/// strings, numbers, booleans, arrays and objects as themselves, so that the text reads back to
/// the same types. Doubles always carry a '.' or an exponent so that they read back as doubles;
/// non-finite doubles and bytes have no JSON form and are written as strings ("NaN", base64);
/// an empty value is null. Writing allocates nothing.
/// </summary>
internal static class AnyValueJson
{
    /// <summary>Room <see cref="FormatDouble"/> needs.</summary>
    public const int MaxDoubleLength = 32;

    public static void Write(Utf8JsonWriter writer, AnyValue value)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                writer.WriteStringValue(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                writer.WriteNumberValue(value.IntValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                writer.WriteBooleanValue(value.BoolValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                Span<byte> number = stackalloc byte[MaxDoubleLength];
                var length = FormatDouble(value.DoubleValue, number);
                if (double.IsFinite(value.DoubleValue))
                {
                    writer.WriteRawValue(number[..length], skipInputValidation: true);
                }
                else
                {
                    // JSON has no NaN or Infinity: the OTLP/JSON spelling as a string.
                    writer.WriteStringValue(number[..length]);
                }

                break;
            case AnyValue.ValueOneofCase.BytesValue:
                writer.WriteBase64StringValue(value.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                writer.WriteStartArray();
                // Index loops: a protobuf list's foreach enumerator is boxed.
                var items = value.ArrayValue.Values;
                for (var i = 0; i < items.Count; i++)
                {
                    Write(writer, items[i]);
                }

                writer.WriteEndArray();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                writer.WriteStartObject();
                var entries = value.KvlistValue.Values;
                for (var i = 0; i < entries.Count; i++)
                {
                    var kv = entries[i];
                    writer.WritePropertyName(kv.Key);
                    if (kv.Value is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        Write(writer, kv.Value);
                    }
                }

                writer.WriteEndObject();
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    /// <summary>
    /// Message levels <see cref="Read(JsonElement)"/> nests below the value it returns: the value
    /// becomes an attribute at most at level 6 (an event's or a link's), so what a processor writes
    /// stays within <see cref="OtlpLimits.MaxMessageDepth"/> and parses again on replay.
    /// </summary>
    public const int MaxLevelsBelowValue = OtlpLimits.MaxMessageDepth - 6;

    /// <summary>
    /// Inverse of <see cref="Write"/>: numbers with '.' or an exponent are doubles, others int64. An
    /// array or object deeper than <see cref="MaxLevelsBelowValue"/> allows stays its JSON text.
    /// </summary>
    public static AnyValue Read(JsonElement value) => Read(value, MaxLevelsBelowValue);

    /// <summary>An array takes 2 levels per element (ArrayValue, AnyValue), an object 3 per member (KeyValueList, KeyValue, AnyValue).</summary>
    private static AnyValue Read(JsonElement value, int levelsLeft)
    {
        if ((value.ValueKind == JsonValueKind.Array && levelsLeft < 2) || (value.ValueKind == JsonValueKind.Object && levelsLeft < 3))
        {
            // Too deep for the protobuf parsers downstream: kept whole, as text.
            return new AnyValue { StringValue = value.GetRawText() };
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return new AnyValue { StringValue = value.GetString() };
            case JsonValueKind.True:
                return new AnyValue { BoolValue = true };
            case JsonValueKind.False:
                return new AnyValue { BoolValue = false };
            case JsonValueKind.Number:
                var raw = value.GetRawText();
                if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && value.TryGetInt64(out var l))
                {
                    return new AnyValue { IntValue = l };
                }

                return new AnyValue { DoubleValue = value.GetDouble() };
            case JsonValueKind.Array:
                var array = new ArrayValue();
                foreach (var item in value.EnumerateArray())
                {
                    array.Values.Add(Read(item, levelsLeft - 2));
                }

                return new AnyValue { ArrayValue = array };
            case JsonValueKind.Object:
                var list = new KeyValueList();
                foreach (var property in value.EnumerateObject())
                {
                    list.Values.Add(new KeyValue { Key = property.Name, Value = Read(property.Value, levelsLeft - 3) });
                }

                return new AnyValue { KvlistValue = list };
            default:
                return new AnyValue();
        }
    }

    /// <summary>
    /// Shortest round-trip UTF-8 text of <paramref name="value"/> into <paramref name="destination"/>
    /// (at least <see cref="MaxDoubleLength"/> bytes); integral values keep a ".0" so that the text
    /// still reads as a double; NaN and infinities as "NaN", "Infinity", "-Infinity".
    /// </summary>
    public static int FormatDouble(double value, Span<byte> destination)
    {
        ReadOnlySpan<byte> special = double.IsNaN(value) ? "NaN"u8
            : double.IsPositiveInfinity(value) ? "Infinity"u8
            : double.IsNegativeInfinity(value) ? "-Infinity"u8
            : default;
        if (!special.IsEmpty)
        {
            special.CopyTo(destination);
            return special.Length;
        }

        value.TryFormat(destination, out var written, "R", CultureInfo.InvariantCulture);
        if (destination[..written].IndexOfAny(".Ee"u8) < 0)
        {
            ".0"u8.CopyTo(destination[written..]);
            written += 2;
        }

        return written;
    }
}
