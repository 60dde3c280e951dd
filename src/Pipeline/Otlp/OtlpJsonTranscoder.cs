using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// Single-pass OTLP/JSON decoder: a <see cref="Utf8JsonReader"/> over the body, guided by the
/// field table (<see cref="OtlpFieldTable"/>), writes protobuf binary that the generated parser then reads. It accepts
/// exactly what the former path accepted (JSON tree, hex ids rewritten to base64, large integers
/// quoted, Google.Protobuf's JsonParser ignoring unknown fields), so its rules mirror that parser:
/// null clears a field, a field named twice (JSON and proto name) keeps the last value, a oneof
/// takes one member, unknown enum names are ignored, numbers follow the parser's checks. One
/// exception: messages nest at most <see cref="OtlpLimits.MaxMessageDepth"/> levels (the former
/// limit, 128, let through data that the protobuf parser refused on spool replay).
/// </summary>
internal static class OtlpJsonTranscoder
{
    /// <summary>Integers beyond this magnitude were quoted (kept exact) rather than read as doubles.</summary>
    private const ulong MaxExactDouble = 1UL << 53;

    private const NumberStyles NumericStyles = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    // JSON nesting bound of the former JsonDocument; also keeps skipping unknown values off deep recursion.
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 256 };

    public static TMessage Parse<TMessage>(ReadOnlySpan<byte> utf8Json, MessageParser<TMessage> parser)
        where TMessage : IMessage<TMessage>, new()
    {
        using var output = new ProtoBuffer(utf8Json.Length);
        try
        {
            var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException("invalid OTLP/JSON: the body must be a JSON object");
            }

            ReadMessage(ref reader, RootLayout<TMessage>.Value, output, 0);
            if (reader.Read())
            {
                throw new InvalidDataException("invalid JSON: content after the top-level object");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"invalid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.CopyString/GetString: escapes that do not form valid UTF-16 (lone surrogates).
            throw new InvalidDataException($"invalid JSON: {e.Message}", e);
        }

        try
        {
            // Nesting is bounded by OtlpLimits.MaxMessageDepth, the parser's default limit.
            return output.Parse(parser);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"invalid OTLP/JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads the object at the reader into <paramref name="output"/>; <paramref name="depth"/> counts enclosing messages.</summary>
    private static void ReadMessage(ref Utf8JsonReader reader, OtlpMessageFields layout, ProtoBuffer output, int depth)
    {
        // One limit with the wire scanner and the protobuf parser: what is accepted here replays from a spool.
        if (depth > OtlpLimits.MaxMessageDepth)
        {
            throw OtlpLimits.TooDeep();
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid($"expected an object for {layout.Descriptor.Name}, got {reader.TokenType}");
        }

        var contentStart = output.Position;

        // Per object: which property names were used (duplicates are errors), which fields were set
        // (a second name for the same field replaces it), which oneofs have a member.
        Span<bool> seen = stackalloc bool[layout.SlotCount + layout.Fields.Length + layout.OneofCount];
        var seenSlots = seen[..layout.SlotCount];
        var seenFields = seen.Slice(layout.SlotCount, layout.Fields.Length);
        var seenOneofs = seen[(layout.SlotCount + layout.Fields.Length)..];
        HashSet<string>? unknownNames = null;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return;
            }

            var slot = reader.ValueIsEscaped ? layout.FindSlot(Unescape(ref reader, output)) : layout.FindSlot(reader.ValueSpan);
            if (slot < 0)
            {
                var name = reader.GetString()!;
                if (!(unknownNames ??= []).Add(name))
                {
                    throw Invalid($"duplicate property '{Truncate(name)}'");
                }

                Next(ref reader);
                SkipValue(ref reader, OtlpFieldTable.IdOf(name) != OtlpId.None, output);
                continue;
            }

            var field = layout.SlotField(slot);
            if (seenSlots[slot])
            {
                throw Invalid($"duplicate property '{reader.GetString()}'");
            }

            seenSlots[slot] = true;
            var setBefore = seenFields[field.Index];
            seenFields[field.Index] = true;
            if (field.OneofIndex >= 0)
            {
                if (seenOneofs[field.OneofIndex])
                {
                    throw Invalid($"multiple values for oneof {field.Descriptor.ContainingOneof.Name}");
                }

                seenOneofs[field.OneofIndex] = true;
            }

            Next(ref reader);
            if (reader.TokenType == JsonTokenType.Null)
            {
                if (setBefore)
                {
                    output.RemoveField(contentStart, field.Number);
                }

                continue;
            }

            if (field.IsRepeated)
            {
                ReadRepeated(ref reader, field, output, depth);
            }
            else if (field.Type == FieldType.Message)
            {
                if (setBefore)
                {
                    output.RemoveField(contentStart, field.Number);
                }

                WriteMessage(ref reader, field, output, depth);
            }
            else
            {
                ReadScalar(ref reader, field, output, withTag: true);
            }
        }
    }

    private static void WriteMessage(ref Utf8JsonReader reader, OtlpField field, ProtoBuffer output, int depth)
    {
        output.WriteVarint(field.Tag);
        var start = output.BeginLength();
        ReadMessage(ref reader, field.Message!, output, depth + 1);
        output.EndLength(start);
    }

    private static void ReadRepeated(ref Utf8JsonReader reader, OtlpField field, ProtoBuffer output, int depth)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Invalid($"repeated field {field.Descriptor.Name} must be an array, got {reader.TokenType}");
        }

        var mark = output.Position;
        var packedStart = 0;
        if (field.IsPacked)
        {
            output.WriteVarint(field.PackedTag);
            packedStart = output.BeginLength();
        }

        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                throw Invalid($"repeated field {field.Descriptor.Name} has a null element");
            }

            if (field.Type == FieldType.Message)
            {
                WriteMessage(ref reader, field, output, depth);
            }
            else
            {
                ReadScalar(ref reader, field, output, withTag: !field.IsPacked);
            }
        }

        if (field.IsPacked)
        {
            if (output.Position == packedStart)
            {
                output.Position = mark;
            }
            else
            {
                output.EndLength(packedStart);
            }
        }
    }

    private static void ReadScalar(ref Utf8JsonReader reader, OtlpField field, ProtoBuffer output, bool withTag)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.True or JsonTokenType.False when field.Type == FieldType.Bool:
                WriteBits(output, field, withTag, reader.TokenType == JsonTokenType.True ? 1UL : 0UL);
                return;
            case JsonTokenType.String:
                var text = reader.ValueIsEscaped ? Unescape(ref reader, output) : reader.ValueSpan;
                if (field.IsId)
                {
                    WriteHexId(text, field, output, withTag);
                }
                else
                {
                    WriteFromString(text, field, output, withTag);
                }

                return;
            case JsonTokenType.Number:
                var raw = reader.ValueSpan;
                Span<byte> digits = stackalloc byte[24];
                if (QuotedIfLargeInteger(raw, digits) is var length and > 0)
                {
                    // The former path quoted these before parsing, so they take the string route (even for ids).
                    WriteFromString(digits[..length], field, output, withTag);
                }
                else
                {
                    WriteFromNumber(ParseNumber(raw), field, output, withTag);
                }

                return;
            default:
                throw Invalid($"unsupported JSON token {reader.TokenType} for {field.Type} field {field.Descriptor.Name}");
        }
    }

    /// <summary>A number literal as a double; literals beyond the double range were refused by the former tokenizer, even in unknown fields.</summary>
    private static double ParseNumber(ReadOnlySpan<byte> raw)
    {
        var number = double.Parse(raw, NumericStyles, CultureInfo.InvariantCulture);
        return double.IsFinite(number) ? number : throw Invalid($"numeric value out of range: {Truncate(Encoding.UTF8.GetString(raw))}");
    }

    /// <summary>The decimal text of an integer literal a double cannot hold exactly, else 0.</summary>
    private static int QuotedIfLargeInteger(ReadOnlySpan<byte> raw, Span<byte> digits)
    {
        if (Utf8Parser.TryParse(raw, out ulong unsigned, out var consumed) && consumed == raw.Length)
        {
            return unsigned > MaxExactDouble && unsigned.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture) ? written : 0;
        }

        return Utf8Parser.TryParse(raw, out long signed, out consumed) && consumed == raw.Length && signed < -(long)MaxExactDouble
            && signed.TryFormat(digits, out var signedWritten, default, CultureInfo.InvariantCulture) ? signedWritten : 0;
    }

    private static void WriteHexId(ReadOnlySpan<byte> hex, OtlpField field, ProtoBuffer output, bool withTag)
    {
        if ((hex.Length & 1) != 0)
        {
            throw InvalidId(hex);
        }

        if (field.Type == FieldType.Bytes)
        {
            if (withTag)
            {
                output.WriteVarint(field.Tag);
            }

            output.WriteVarint((uint)(hex.Length / 2));
            if (!TryDecodeHex(hex, output.Reserve(hex.Length / 2)))
            {
                throw InvalidId(hex);
            }

            return;
        }

        // An id-named field that is not bytes: the former path handed it the base64 of the hex bytes.
        var bytes = new byte[hex.Length / 2];
        if (!TryDecodeHex(hex, bytes))
        {
            throw InvalidId(hex);
        }

        WriteFromString(Encoding.UTF8.GetBytes(bytes.Length == 0 ? string.Empty : Convert.ToBase64String(bytes)), field, output, withTag);
    }

    private static void WriteFromString(ReadOnlySpan<byte> text, OtlpField field, ProtoBuffer output, bool withTag)
    {
        switch (field.Type)
        {
            case FieldType.String:
                // Utf8JsonReader has already refused invalid UTF-8 and CopyString lone surrogates.
                WriteLengthDelimited(output, field, withTag, text);
                return;
            case FieldType.Bytes:
                byte[] bytes;
                try
                {
                    bytes = text.IsEmpty ? [] : Convert.FromBase64String(Encoding.UTF8.GetString(text));
                }
                catch (FormatException)
                {
                    throw Invalid($"field {field.Descriptor.Name} is not valid base64");
                }

                WriteLengthDelimited(output, field, withTag, bytes);
                return;
            case FieldType.Enum:
                // Unknown names are ignored (the field stays unset), as with ignore-unknown-fields.
                if (field.Descriptor.EnumType.FindValueByName(Encoding.UTF8.GetString(text)) is { } value)
                {
                    WriteBits(output, field, withTag, (ulong)(long)value.Number);
                }

                return;
            case FieldType.Bool or FieldType.Message:
                throw Invalid($"a JSON string is not a valid {field.Type} for field {field.Descriptor.Name}");
            default:
                WriteBits(output, field, withTag, ParseNumericText(text, field));
                return;
        }
    }

    /// <summary>Numbers in strings: no '+', no leading zeros, decimal point and exponent allowed, range-checked.</summary>
    private static ulong ParseNumericText(ReadOnlySpan<byte> text, OtlpField field)
    {
        if ((text.Length > 0 && text[0] == '+')
            || (text.Length > 1 && text[0] == '0' && char.IsAsciiDigit((char)text[1]))
            || (text.Length > 2 && text[0] == '-' && text[1] == '0' && char.IsAsciiDigit((char)text[2])))
        {
            throw InvalidNumber(text);
        }

        try
        {
            switch (field.Type)
            {
                case FieldType.Double:
                    var d = double.Parse(text, NumericStyles, CultureInfo.InvariantCulture);
                    CheckNonFinite(text, double.IsPositiveInfinity(d), double.IsNegativeInfinity(d), double.IsNaN(d));
                    return BitConverter.DoubleToUInt64Bits(d);
                case FieldType.Float:
                    var f = float.Parse(text, NumericStyles, CultureInfo.InvariantCulture);
                    CheckNonFinite(text, float.IsPositiveInfinity(f), float.IsNegativeInfinity(f), float.IsNaN(f));
                    return BitConverter.SingleToUInt32Bits(f);
                case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                    return Int32Bits(field.Type, int.Parse(text, NumericStyles, CultureInfo.InvariantCulture));
                case FieldType.UInt32 or FieldType.Fixed32:
                    return uint.Parse(text, NumericStyles, CultureInfo.InvariantCulture);
                case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                    return Int64Bits(field.Type, long.Parse(text, NumericStyles, CultureInfo.InvariantCulture));
                default:
                    return ulong.Parse(text, NumericStyles, CultureInfo.InvariantCulture);
            }
        }
        catch (FormatException)
        {
            throw InvalidNumber(text);
        }
        catch (OverflowException)
        {
            throw Invalid($"value out of range: {Truncate(Encoding.UTF8.GetString(text))}");
        }
    }

    /// <summary>Infinity and NaN only from their exact names (double.Parse is laxer, and overflows to infinity).</summary>
    private static void CheckNonFinite(ReadOnlySpan<byte> text, bool positiveInfinity, bool negativeInfinity, bool nan)
    {
        if ((positiveInfinity && !text.SequenceEqual("Infinity"u8))
            || (negativeInfinity && !text.SequenceEqual("-Infinity"u8))
            || (nan && !text.SequenceEqual("NaN"u8)))
        {
            throw InvalidNumber(text);
        }
    }

    private static void WriteFromNumber(double value, OtlpField field, ProtoBuffer output, bool withTag)
    {
        ulong bits;
        try
        {
            switch (field.Type)
            {
                case FieldType.Double:
                    bits = BitConverter.DoubleToUInt64Bits(value);
                    break;
                case FieldType.Float:
                    var converted = (float)value;
                    if (float.IsInfinity(converted) && !double.IsInfinity(value))
                    {
                        throw Invalid($"value out of range: {value}");
                    }

                    bits = BitConverter.SingleToUInt32Bits(double.IsNaN(value) ? float.NaN : converted);
                    break;
                case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 or FieldType.Enum:
                    bits = Int32Bits(field.Type, checked((int)CheckInteger(value)));
                    break;
                case FieldType.UInt32 or FieldType.Fixed32:
                    bits = checked((uint)CheckInteger(value));
                    break;
                case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                    bits = Int64Bits(field.Type, checked((long)CheckInteger(value)));
                    break;
                case FieldType.UInt64 or FieldType.Fixed64:
                    bits = checked((ulong)CheckInteger(value));
                    break;
                default:
                    throw Invalid($"a JSON number is not a valid {field.Type} for field {field.Descriptor.Name}");
            }
        }
        catch (OverflowException)
        {
            throw Invalid($"value out of range: {value}");
        }

        WriteBits(output, field, withTag, bits);
    }

    private static double CheckInteger(double value) =>
        double.IsFinite(value) && value == Math.Floor(value) ? value : throw Invalid($"value not an integer: {value}");

    private static ulong Int32Bits(FieldType type, int value) => type switch
    {
        FieldType.SInt32 => (uint)((value << 1) ^ (value >> 31)),
        FieldType.SFixed32 => (uint)value,
        _ => (ulong)(long)value, // int32 and enums: negative values are sign-extended varints
    };

    private static ulong Int64Bits(FieldType type, long value) =>
        type == FieldType.SInt64 ? (ulong)((value << 1) ^ (value >> 63)) : (ulong)value;

    private static void WriteBits(ProtoBuffer output, OtlpField field, bool withTag, ulong bits)
    {
        if (withTag)
        {
            output.WriteVarint(field.Tag);
        }

        switch (field.WireType)
        {
            case 1:
                output.WriteFixed64(bits);
                break;
            case 5:
                output.WriteFixed32((uint)bits);
                break;
            default:
                output.WriteVarint(bits);
                break;
        }
    }

    private static void WriteLengthDelimited(ProtoBuffer output, OtlpField field, bool withTag, ReadOnlySpan<byte> bytes)
    {
        if (withTag)
        {
            output.WriteVarint(field.Tag);
        }

        output.WriteLengthDelimited(bytes);
    }

    /// <summary>
    /// Skips an unknown property's value, still enforcing what the former whole-tree pass enforced
    /// everywhere: no duplicate keys, and id-named string properties must be hex.
    /// </summary>
    private static void SkipValue(ref Utf8JsonReader reader, bool idKey, ProtoBuffer output)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                HashSet<string>? names = null;
                while (true)
                {
                    Next(ref reader);
                    if (reader.TokenType == JsonTokenType.EndObject)
                    {
                        return;
                    }

                    var name = reader.GetString()!;
                    if (!(names ??= []).Add(name))
                    {
                        throw Invalid($"duplicate property '{Truncate(name)}'");
                    }

                    Next(ref reader);
                    SkipValue(ref reader, OtlpFieldTable.IdOf(name) != OtlpId.None, output);
                }

            case JsonTokenType.StartArray:
                while (true)
                {
                    Next(ref reader);
                    if (reader.TokenType == JsonTokenType.EndArray)
                    {
                        return;
                    }

                    SkipValue(ref reader, idKey: false, output);
                }

            case JsonTokenType.Number:
                Span<byte> digits = stackalloc byte[24];
                if (QuotedIfLargeInteger(reader.ValueSpan, digits) == 0)
                {
                    ParseNumber(reader.ValueSpan);
                }

                return;
            case JsonTokenType.String:
                // Unescaping validates the escapes (lone surrogates), as the former tokenizer did.
                var text = reader.ValueIsEscaped ? Unescape(ref reader, output) : reader.ValueSpan;
                if (idKey && ((text.Length & 1) != 0 || !TryDecodeHex(text, default, validateOnly: true)))
                {
                    throw InvalidId(text);
                }

                return;
        }
    }

    private static bool TryDecodeHex(ReadOnlySpan<byte> hex, Span<byte> destination, bool validateOnly = false)
    {
        for (var i = 0; i < hex.Length; i += 2)
        {
            var high = HexValue(hex[i]);
            var low = HexValue(hex[i + 1]);
            if ((high | low) < 0)
            {
                return false;
            }

            if (!validateOnly)
            {
                destination[i / 2] = (byte)((high << 4) | low);
            }
        }

        return true;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    private static ReadOnlySpan<byte> Unescape(ref Utf8JsonReader reader, ProtoBuffer output)
    {
        // Unescaped text is never longer than the escaped form.
        var scratch = output.Scratch(reader.ValueSpan.Length);
        var length = reader.CopyString(scratch);
        return scratch.AsSpan(0, length);
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new InvalidDataException("invalid JSON: unexpected end of input");
        }
    }

    private static InvalidDataException Invalid(string message) => new($"invalid OTLP/JSON: {message}");

    private static InvalidDataException InvalidNumber(ReadOnlySpan<byte> text) => Invalid($"invalid numeric value '{Truncate(Encoding.UTF8.GetString(text))}'");

    private static InvalidDataException InvalidId(ReadOnlySpan<byte> hex) => Invalid($"id '{Truncate(Encoding.UTF8.GetString(hex))}' is not hex");

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static class RootLayout<TMessage>
        where TMessage : IMessage<TMessage>, new()
    {
        public static readonly OtlpMessageFields Value = OtlpFieldTable.For(new TMessage().Descriptor);
    }
}
