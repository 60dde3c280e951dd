using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;

namespace Collector.Tests.JsonCodec;

/// <summary>
/// The former OtlpJson.Parse (and Format), kept as the reference the transcoder must match: a JsonNode tree
/// (duplicate keys rejected, depth 256), hex ids rewritten to base64 and integers beyond 2^53
/// quoted, then Google.Protobuf's reflection JsonParser (unknown fields ignored, recursion 128).
/// </summary>
internal static class LegacyOtlpJsonOracle
{
    private const ulong MaxExactDouble = 1UL << 53;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithRecursionLimit(128));

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256, AllowDuplicateProperties = false };

    public static TMessage Parse<TMessage>(ReadOnlySpan<byte> utf8Json)
        where TMessage : IMessage<TMessage>, new()
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8Json, documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        if (root is not JsonObject)
        {
            throw new InvalidDataException("not an object");
        }

        Rewrite(root, HexToBase64, quoteLargeIntegers: true);
        try
        {
            return Parser.Parse<TMessage>(root.ToJsonString());
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    /// <summary>The former OtlpJson.Format: JsonFormatter (enums as integers), then base64 ids to hex in a JsonNode pass.</summary>
    public static string Format(IMessage message)
    {
        var root = JsonNode.Parse(Formatter.Format(message), documentOptions: DocumentOptions)!;
        Rewrite(root, IdToHex, quoteLargeIntegers: false);
        return root.ToJsonString();
    }

    private static bool IsIdKey(string key) => key is "traceId" or "spanId" or "parentSpanId" or "trace_id" or "span_id" or "parent_span_id";

    /// <summary>Converts id strings with <paramref name="convert"/>; when parsing, also quotes integers a double cannot hold.</summary>
    private static void Rewrite(JsonNode node, Func<string, string> convert, bool quoteLargeIntegers)
    {
        switch (node)
        {
            case JsonObject obj:
                var updates = new List<(string Key, JsonNode Value)>();
                foreach (var (key, value) in obj)
                {
                    if (value is null)
                    {
                        continue;
                    }

                    if (IsIdKey(key) && value.GetValueKind() == JsonValueKind.String)
                    {
                        updates.Add((key, JsonValue.Create(convert(value.GetValue<string>()))));
                    }
                    else if (quoteLargeIntegers && Quoted(value) is { } quoted)
                    {
                        updates.Add((key, quoted));
                    }
                    else
                    {
                        Rewrite(value, convert, quoteLargeIntegers);
                    }
                }

                foreach (var (key, value) in updates)
                {
                    obj[key] = value;
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is not { } item)
                    {
                        continue;
                    }

                    if (quoteLargeIntegers && Quoted(item) is { } quoted)
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

    private static JsonValue? Quoted(JsonNode node)
    {
        if (node is not JsonValue value || !value.TryGetValue<JsonElement>(out var element) || element.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        if (element.TryGetUInt64(out var unsigned))
        {
            return unsigned > MaxExactDouble ? JsonValue.Create(unsigned.ToString(CultureInfo.InvariantCulture)) : null;
        }

        return element.TryGetInt64(out var signed) && signed < -(long)MaxExactDouble ? JsonValue.Create(signed.ToString(CultureInfo.InvariantCulture)) : null;
    }

    private static string IdToHex(string base64) => base64.Length == 0 ? base64 : Convert.ToHexStringLower(Convert.FromBase64String(base64));

    private static string HexToBase64(string hex)
    {
        try
        {
            return hex.Length == 0 ? hex : Convert.ToBase64String(Convert.FromHexString(hex));
        }
        catch (FormatException e)
        {
            throw new InvalidDataException("id is not hex", e);
        }
    }
}
