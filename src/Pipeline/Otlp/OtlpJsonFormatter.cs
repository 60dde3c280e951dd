using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// Writes OTLP/JSON straight to UTF-8 with a <see cref="Utf8JsonWriter"/>, producing byte for byte
/// what the former path produced (Google.Protobuf's JsonFormatter with enums as integers, then a
/// JsonNode pass turning base64 ids into hex and re-serialising): fields in number order, defaults
/// omitted unless the field has presence, 64-bit integers quoted, doubles in round-trip format with
/// NaN/Infinity quoted, bytes in base64, ids in lowercase hex.
/// </summary>
internal static class OtlpJsonFormatter
{
    public static byte[] FormatUtf8(IMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteMessage(writer, message);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter writer, IMessage message)
    {
        writer.WriteStartObject();
        var fields = OtlpFieldTable.For(message.Descriptor).InNumberOrder;
        for (var i = 0; i < fields.Length; i++)
        {
            var field = fields[i];
            var descriptor = field.Descriptor;
            object value;
            if (descriptor.HasPresence)
            {
                if (!descriptor.Accessor.HasValue(message))
                {
                    continue;
                }

                value = descriptor.Accessor.GetValue(message);
            }
            else
            {
                value = descriptor.Accessor.GetValue(message);
                if (IsDefault(field, value))
                {
                    continue;
                }
            }

            writer.WritePropertyName(descriptor.JsonName);
            if (field.IsRepeated)
            {
                writer.WriteStartArray();
                foreach (var item in (IList)value)
                {
                    WriteValue(writer, field, item);
                }

                writer.WriteEndArray();
            }
            else
            {
                WriteValue(writer, field, value);
            }
        }

        writer.WriteEndObject();
    }

    private static bool IsDefault(OtlpField field, object value)
    {
        if (field.IsRepeated)
        {
            return ((IList)value).Count == 0;
        }

        return field.Type switch
        {
            FieldType.Bool => !(bool)value,
            FieldType.Bytes => ((ByteString)value).IsEmpty,
            FieldType.String => ((string)value).Length == 0,
            FieldType.Double => (double)value == 0.0,
            FieldType.Float => (float)value == 0f,
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 or FieldType.Enum => (int)value == 0,
            FieldType.UInt32 or FieldType.Fixed32 => (uint)value == 0,
            FieldType.UInt64 or FieldType.Fixed64 => (ulong)value == 0,
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => (long)value == 0,
            _ => value is null,
        };
    }

    private static void WriteValue(Utf8JsonWriter writer, OtlpField field, object value)
    {
        switch (value)
        {
            case IMessage message:
                WriteMessage(writer, message);
                break;
            case string text:
                writer.WriteStringValue(field.IsId ? Base64ToHex(text) : text);
                break;
            case ByteString bytes:
                if (field.IsId && bytes.Length <= 64)
                {
                    Span<char> hex = stackalloc char[bytes.Length * 2];
                    Convert.TryToHexStringLower(bytes.Span, hex, out _);
                    writer.WriteStringValue(hex);
                }
                else if (field.IsId)
                {
                    writer.WriteStringValue(Convert.ToHexStringLower(bytes.Span));
                }
                else
                {
                    // Not WriteBase64StringValue: the former output escaped '+' as \u002B, as string values are.
                    writer.WriteStringValue(Convert.ToBase64String(bytes.Span));
                }

                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case int number:
                writer.WriteNumberValue(number);
                break;
            case uint number:
                writer.WriteNumberValue(number);
                break;
            case long number:
                Span<char> signed = stackalloc char[20];
                number.TryFormat(signed, out var signedLength, default, CultureInfo.InvariantCulture);
                writer.WriteStringValue(signed[..signedLength]);
                break;
            case ulong number:
                Span<char> unsigned = stackalloc char[20];
                number.TryFormat(unsigned, out var unsignedLength, default, CultureInfo.InvariantCulture);
                writer.WriteStringValue(unsigned[..unsignedLength]);
                break;
            case double number:
                Span<char> digits = stackalloc char[32];
                WriteDouble(writer, number.TryFormat(digits, out var length, "r", CultureInfo.InvariantCulture) ? digits[..length] : number.ToString("r", CultureInfo.InvariantCulture));
                break;
            case float number:
                WriteDouble(writer, number.ToString("r", CultureInfo.InvariantCulture));
                break;
            case Enum:
                writer.WriteNumberValue((int)value);
                break;
            default:
                throw new NotSupportedException($"OTLP/JSON formatting does not support {value.GetType()}");
        }
    }

    private static void WriteDouble(Utf8JsonWriter writer, ReadOnlySpan<char> text)
    {
        if (text is "NaN" or "Infinity" or "-Infinity")
        {
            writer.WriteStringValue(text);
        }
        else
        {
            writer.WriteRawValue(text, skipInputValidation: true);
        }
    }

    // An id-named string field (none in OTLP): the former path read it as base64.
    private static string Base64ToHex(string base64) =>
        base64.Length == 0 ? base64 : Convert.ToHexStringLower(Convert.FromBase64String(base64));
}
