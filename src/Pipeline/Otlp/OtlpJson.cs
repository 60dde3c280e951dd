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
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>Decodes OTLP/JSON; every malformed input is an <see cref="InvalidDataException"/>.</summary>
    public static TMessage Parse<TMessage>(ReadOnlySpan<byte> utf8Json, MessageParser<TMessage> parser)
        where TMessage : IMessage<TMessage>, new() => OtlpJsonTranscoder.Parse(utf8Json, parser);

    public static string Format(IMessage message)
    {
        var json = Formatter.Format(message);
        var root = JsonNode.Parse(json, documentOptions: DocumentOptions)!;
        RewriteIds(root);
        return root.ToJsonString();
    }

    public static byte[] FormatUtf8(IMessage message) => System.Text.Encoding.UTF8.GetBytes(Format(message));

    /// <summary>
    /// Rewrites id strings from base64 (protobuf JSON) to hex (OTLP/JSON). Attribute keys live in
    /// "key" values, never in property names, so id properties are unambiguous.
    /// </summary>
    private static void RewriteIds(JsonNode node)
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

                    if (OtlpJsonTranscoder.IsIdKey(key) && value.GetValueKind() == JsonValueKind.String)
                    {
                        (updates ??= []).Add((key, JsonValue.Create(Base64ToHex(value.GetValue<string>()))));
                    }
                    else
                    {
                        RewriteIds(value);
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
                foreach (var item in array)
                {
                    if (item is not null)
                    {
                        RewriteIds(item);
                    }
                }

                break;
        }
    }

    private static string Base64ToHex(string base64) =>
        base64.Length == 0 ? base64 : Convert.ToHexStringLower(Convert.FromBase64String(base64));
}
