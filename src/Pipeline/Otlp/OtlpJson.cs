using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// The OTLP/JSON mapping: protobuf JSON with lowerCamelCase keys, enums as integers, 64-bit
/// integers as decimal strings, and (unlike plain protobuf JSON) trace and span ids as hex
/// rather than base64. Unknown fields are ignored on input, as the specification requires.
/// </summary>
public static class OtlpJson
{
    /// <summary>Integers beyond this magnitude lose digits as doubles, which is how the protobuf JSON parser reads numbers.</summary>
    private const ulong MaxExactDouble = 1UL << 53;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithRecursionLimit(128));

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

    // Duplicate keys are rejected: JsonObject would otherwise throw ArgumentException on first access.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256, AllowDuplicateProperties = false };

    public static TMessage Parse<TMessage>(ReadOnlySpan<byte> utf8Json, MessageParser<TMessage> parser)
        where TMessage : IMessage<TMessage>, new()
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8Json, documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"invalid JSON: {e.Message}", e);
        }

        if (root is not JsonObject)
        {
            throw new InvalidDataException("invalid OTLP/JSON: the body must be a JSON object");
        }

        Rewrite(root, HexToBase64, quoteLargeIntegers: true);
        try
        {
            return Parser.Parse<TMessage>(root.ToJsonString());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"invalid OTLP/JSON: {e.Message}", e);
        }
        catch (InvalidJsonException e)
        {
            throw new InvalidDataException($"invalid OTLP/JSON: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"invalid OTLP/JSON: {e.Message}", e);
        }
    }

    public static string Format(IMessage message)
    {
        var json = Formatter.Format(message);
        var root = JsonNode.Parse(json, documentOptions: DocumentOptions)!;
        Rewrite(root, Base64ToHex, quoteLargeIntegers: false);
        return root.ToJsonString();
    }

    public static byte[] FormatUtf8(IMessage message) => System.Text.Encoding.UTF8.GetBytes(Format(message));

    private static bool IsIdKey(string key) => key is "traceId" or "spanId" or "parentSpanId" or "trace_id" or "span_id" or "parent_span_id";

    /// <summary>
    /// Converts id strings with <paramref name="convert"/>; when parsing, also turns integers a double
    /// cannot hold exactly into decimal strings (as the OTLP/JSON spec writes 64-bit integers), so
    /// that a non-conformant sender's numeric timestamps keep every digit.
    /// Attribute keys live in "key" values, never in property names, so id properties are unambiguous.
    /// </summary>
    private static void Rewrite(JsonNode node, Func<string, string> convert, bool quoteLargeIntegers)
    {
        switch (node)
        {
            case JsonObject obj:
                List<(string Key, JsonNode Value)>? updates = null;
                foreach (var (key, value) in obj)
                {
                    if (value is null)
                    {
                        continue;
                    }

                    if (IsIdKey(key) && value.GetValueKind() == JsonValueKind.String)
                    {
                        (updates ??= []).Add((key, JsonValue.Create(convert(value.GetValue<string>()))));
                    }
                    else if (quoteLargeIntegers && QuotedIfLargeInteger(value) is { } quoted)
                    {
                        (updates ??= []).Add((key, quoted));
                    }
                    else
                    {
                        Rewrite(value, convert, quoteLargeIntegers);
                    }
                }

                if (updates is not null)
                {
                    foreach (var (key, value) in updates)
                    {
                        obj[key] = value;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is not { } item)
                    {
                        continue;
                    }

                    if (quoteLargeIntegers && QuotedIfLargeInteger(item) is { } quoted)
                    {
                        array[i] = quoted;
                    }
                    else
                    {
                        Rewrite(item, convert, quoteLargeIntegers);
                    }
                }

                break;
        }
    }

    private static JsonValue? QuotedIfLargeInteger(JsonNode node)
    {
        if (node is not JsonValue value || !value.TryGetValue<JsonElement>(out var element) || element.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        if (element.TryGetUInt64(out var unsigned))
        {
            return unsigned > MaxExactDouble ? JsonValue.Create(unsigned.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null;
        }

        return element.TryGetInt64(out var signed) && signed < -(long)MaxExactDouble
            ? JsonValue.Create(signed.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : null;
    }

    private static string HexToBase64(string hex)
    {
        if (hex.Length == 0)
        {
            return hex;
        }

        try
        {
            return Convert.ToBase64String(Convert.FromHexString(hex));
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"invalid OTLP/JSON: id '{Truncate(hex)}' is not hex");
        }
    }

    private static string Base64ToHex(string base64) =>
        base64.Length == 0 ? base64 : Convert.ToHexStringLower(Convert.FromBase64String(base64));

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
