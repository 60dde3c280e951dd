using System.Buffers;
using System.Text;
using System.Text.Json;
using Collector.Pipeline.Otlp;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.GenAi;

/// <summary>Which JSON message shape to write.</summary>
internal enum MessageJsonShape
{
    /// <summary>
    /// OTel GenAI semconv (<c>gen_ai.input.messages</c> / <c>gen_ai.output.messages</c>):
    /// <c>[{"role":"user","parts":[{"type":"text","content":"hi"}]}]</c>, output messages with <c>finish_reason</c>.
    /// </summary>
    OtelGenAi,

    /// <summary>
    /// Langtrace / OpenAI style (<c>gen_ai.prompt</c> / <c>gen_ai.completion</c> event attributes, legacy
    /// <c>llm.prompts</c>): <c>[{"role":"user","content":"hi"}]</c>, with <c>tool_calls</c> and <c>tool_call_id</c>.
    /// </summary>
    Langtrace,
}

/// <summary>
/// Reads and writes message lists as JSON. Both shapes carry two additions that the schemas
/// allow as extra properties: <c>attributes</c> (indexed sub-keys no field holds, with their
/// typed values) and <c>index</c> (only for sparse indices), which make indexed -> JSON ->
/// indexed exact. The reader accepts either shape per message.
/// </summary>
internal static class MessageJson
{
    private const string AttributesProperty = "attributes";
    private const string IndexProperty = "index";

    public static string Write(IReadOnlyList<ChatMessage> messages, MessageJsonShape shape)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, messages, shape);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the message array to <paramref name="writer"/> (which the caller flushes).</summary>
    public static void Write(Utf8JsonWriter writer, IReadOnlyList<ChatMessage> messages, MessageJsonShape shape)
    {
        writer.WriteStartArray();
        foreach (var message in messages)
        {
            if (shape == MessageJsonShape.OtelGenAi)
            {
                WriteOtelMessage(writer, message);
            }
            else
            {
                WriteLangtraceMessage(writer, message);
            }
        }

        writer.WriteEndArray();
    }

    /// <summary>Parses a JSON array of messages in either shape; null when the text is not such an array.</summary>
    public static List<ChatMessage>? TryParse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var messages = new List<ChatMessage>(document.RootElement.GetArrayLength());
            foreach (var element in document.RootElement.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                messages.Add(ReadMessage(element));
            }

            return messages;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // ---- writing ------------------------------------------------------------------------------

    private static void WriteOtelMessage(Utf8JsonWriter writer, ChatMessage message)
    {
        writer.WriteStartObject();
        WriteOptional(writer, "role", message.Role);
        WriteOptional(writer, "name", message.Name);
        writer.WriteStartArray("parts");
        foreach (var part in message.Parts)
        {
            WriteOtelPart(writer, part);
        }

        writer.WriteEndArray();
        WriteOptional(writer, "finish_reason", message.FinishReason);
        WriteTail(writer, message);
        writer.WriteEndObject();
    }

    private static void WriteOtelPart(Utf8JsonWriter writer, MessagePart part)
    {
        switch (part.Type)
        {
            case MessagePart.TextType when part.Content is not null:
                writer.WriteStartObject();
                writer.WriteString("type", MessagePart.TextType);
                writer.WriteString("content", part.Content);
                writer.WriteEndObject();
                return;
            case MessagePart.ToolCallType:
                writer.WriteStartObject();
                writer.WriteString("type", MessagePart.ToolCallType);
                WriteOptional(writer, "id", part.Id);
                WriteOptional(writer, "name", part.Name);
                WriteValue(writer, "arguments", part.Arguments, part.RawJson);
                WriteIndex(writer, part.Index);
                writer.WriteEndObject();
                return;
            case MessagePart.ToolCallResponseType:
                writer.WriteStartObject();
                writer.WriteString("type", MessagePart.ToolCallResponseType);
                WriteOptional(writer, "id", part.Id);
                WriteValue(writer, "response", part.Content, part.RawJson);
                writer.WriteEndObject();
                return;
            default:
                if (part.RawJson is not null)
                {
                    writer.WriteRawValue(part.RawJson, skipInputValidation: true);
                }

                return;
        }
    }

    private static void WriteLangtraceMessage(Utf8JsonWriter writer, ChatMessage message)
    {
        writer.WriteStartObject();
        WriteOptional(writer, "role", message.Role);
        WriteOptional(writer, "name", message.Name);

        MessagePart? response = null;
        var contentParts = 0;
        foreach (var part in message.Parts)
        {
            if (part.Type == MessagePart.ToolCallResponseType)
            {
                response ??= part;
            }
            else if (part.Type != MessagePart.ToolCallType)
            {
                contentParts++;
            }
        }

        if (response is not null)
        {
            WriteOptional(writer, "tool_call_id", response.Id);
            WriteValue(writer, "content", response.Content, response.RawJson);
        }
        else if (contentParts == 1 && message.Parts.Find(p => p.Type == MessagePart.TextType) is { Content: not null } single)
        {
            writer.WriteString("content", single.Content);
        }
        else if (contentParts > 0)
        {
            // OpenAI's multi-part content array.
            writer.WriteStartArray("content");
            foreach (var part in message.Parts)
            {
                if (part.Type == MessagePart.TextType && part.Content is not null)
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", MessagePart.TextType);
                    writer.WriteString("text", part.Content);
                    writer.WriteEndObject();
                }
                else if (part.Type != MessagePart.ToolCallType && part.Type != MessagePart.ToolCallResponseType && part.RawJson is not null)
                {
                    writer.WriteRawValue(part.RawJson, skipInputValidation: true);
                }
            }

            writer.WriteEndArray();
        }

        var wroteCalls = false;
        foreach (var part in message.Parts)
        {
            if (part.Type != MessagePart.ToolCallType)
            {
                continue;
            }

            if (!wroteCalls)
            {
                writer.WriteStartArray("tool_calls");
                wroteCalls = true;
            }

            writer.WriteStartObject();
            WriteOptional(writer, "id", part.Id);
            writer.WriteString("type", "function");
            writer.WriteStartObject("function");
            WriteOptional(writer, "name", part.Name);
            WriteValue(writer, "arguments", part.Arguments, part.RawJson);
            writer.WriteEndObject();
            WriteIndex(writer, part.Index);
            writer.WriteEndObject();
        }

        if (wroteCalls)
        {
            writer.WriteEndArray();
        }

        WriteOptional(writer, "finish_reason", message.FinishReason);
        WriteTail(writer, message);
        writer.WriteEndObject();
    }

    private static void WriteTail(Utf8JsonWriter writer, ChatMessage message)
    {
        WriteIndex(writer, message.Index);
        if (message.Extras.Count == 0)
        {
            return;
        }

        writer.WriteStartObject(AttributesProperty);
        foreach (var extra in message.Extras)
        {
            writer.WritePropertyName(extra.Key);
            AnyValueJson.Write(writer, extra.Value);
        }

        writer.WriteEndObject();
    }

    private static void WriteIndex(Utf8JsonWriter writer, int? index)
    {
        if (index is not null)
        {
            writer.WriteNumber(IndexProperty, index.Value);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, string name, string? text, string? rawJson)
    {
        if (text is not null)
        {
            writer.WriteString(name, text);
        }
        else if (rawJson is not null)
        {
            writer.WritePropertyName(name);
            writer.WriteRawValue(rawJson, skipInputValidation: true);
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    private static ChatMessage ReadMessage(JsonElement element)
    {
        var message = new ChatMessage();
        string? toolCallId = null;
        JsonElement? content = null;
        List<MessagePart>? toolCalls = null;
        foreach (var property in element.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "role" when value.ValueKind == JsonValueKind.String:
                    message.Role = value.GetString();
                    break;
                case "name" when value.ValueKind == JsonValueKind.String:
                    message.Name = value.GetString();
                    break;
                case "finish_reason" when value.ValueKind == JsonValueKind.String:
                    message.FinishReason = value.GetString();
                    break;
                case IndexProperty when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var index):
                    message.Index = index;
                    break;
                case "parts" when value.ValueKind == JsonValueKind.Array:
                    foreach (var part in value.EnumerateArray())
                    {
                        message.Parts.Add(ReadOtelPart(part));
                    }

                    break;
                case "content":
                    content = value;
                    break;
                case "tool_call_id" when value.ValueKind == JsonValueKind.String:
                    toolCallId = value.GetString();
                    break;
                case "tool_calls" when value.ValueKind == JsonValueKind.Array:
                    toolCalls = [];
                    foreach (var call in value.EnumerateArray())
                    {
                        toolCalls.Add(ReadLangtraceToolCall(call));
                    }

                    break;
                case AttributesProperty when value.ValueKind == JsonValueKind.Object:
                    foreach (var extra in value.EnumerateObject())
                    {
                        message.Extras.Add(new KeyValuePair<string, AnyValue>(extra.Name, AnyValueJson.Read(extra.Value)));
                    }

                    break;
                default:
                    // Unknown or wrongly typed property: kept as an extra rather than lost.
                    message.Extras.Add(new KeyValuePair<string, AnyValue>(property.Name, AnyValueJson.Read(value)));
                    break;
            }
        }

        AddLangtraceContent(message, toolCallId, content);
        if (toolCalls is not null)
        {
            message.Parts.AddRange(toolCalls);
        }

        return message;
    }

    private static void AddLangtraceContent(ChatMessage message, string? toolCallId, JsonElement? content)
    {
        var isString = content?.ValueKind == JsonValueKind.String;
        var hasContent = content is not null && content.Value.ValueKind != JsonValueKind.Null;
        if (toolCallId is not null)
        {
            message.Parts.Insert(0, new MessagePart
            {
                Type = MessagePart.ToolCallResponseType,
                Id = toolCallId,
                Content = isString ? content!.Value.GetString() : null,
                RawJson = hasContent && !isString ? content!.Value.GetRawText() : null,
            });
            return;
        }

        if (!hasContent)
        {
            return;
        }

        var value = content!.Value;
        if (isString)
        {
            message.Parts.Insert(0, MessagePart.Text(value.GetString()!));
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            var position = 0;
            foreach (var item in value.EnumerateArray())
            {
                message.Parts.Insert(position++, IsOpenAiTextPart(item, out var text) ? MessagePart.Text(text) : RawPart(item));
            }
        }
        else
        {
            message.Parts.Insert(0, RawPart(value));
        }
    }

    private static bool IsOpenAiTextPart(JsonElement item, out string text)
    {
        text = string.Empty;
        if (item.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var count = 0;
        var isText = false;
        foreach (var property in item.EnumerateObject())
        {
            count++;
            if (property.Name == "type")
            {
                isText = property.Value.ValueKind == JsonValueKind.String && property.Value.ValueEquals(MessagePart.TextType);
            }
            else if (property.Name == "text" && property.Value.ValueKind == JsonValueKind.String)
            {
                text = property.Value.GetString()!;
            }
        }

        return isText && count == 2 && item.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String;
    }

    private static MessagePart ReadOtelPart(JsonElement part)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return RawPart(part);
        }

        // Known part types are taken apart only when every property is understood; anything else stays raw.
        var result = new MessagePart { Type = type.GetString()! };
        if (result.Type is not (MessagePart.TextType or MessagePart.ToolCallType or MessagePart.ToolCallResponseType))
        {
            return RawPart(part);
        }

        foreach (var property in part.EnumerateObject())
        {
            if (!TryReadPartProperty(result, property.Name, property.Value))
            {
                return RawPart(part);
            }
        }

        return result.Type != MessagePart.TextType || result.Content is not null ? result : RawPart(part);
    }

    private static bool TryReadPartProperty(MessagePart part, string name, JsonElement value)
    {
        var isString = value.ValueKind == JsonValueKind.String;
        switch (part.Type, name)
        {
            case (_, "type"):
                return true;
            case (MessagePart.TextType, "content") when isString:
                part.Content = value.GetString();
                return true;
            case (MessagePart.ToolCallType or MessagePart.ToolCallResponseType, "id") when isString:
                part.Id = value.GetString();
                return true;
            case (MessagePart.ToolCallType, "name") when isString:
                part.Name = value.GetString();
                return true;
            case (MessagePart.ToolCallType, "arguments"):
                SetStringOrRaw(value, out var arguments, out var rawArguments);
                part.Arguments = arguments;
                part.RawJson = rawArguments;
                return true;
            case (MessagePart.ToolCallType, IndexProperty) when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var index):
                part.Index = index;
                return true;
            case (MessagePart.ToolCallResponseType, "response"):
                SetStringOrRaw(value, out var response, out var rawResponse);
                part.Content = response;
                part.RawJson = rawResponse;
                return true;
            default:
                return false;
        }
    }

    private static MessagePart ReadLangtraceToolCall(JsonElement call)
    {
        var part = new MessagePart { Type = MessagePart.ToolCallType };
        if (call.ValueKind != JsonValueKind.Object)
        {
            return part;
        }

        if (call.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
        {
            part.Id = id.GetString();
        }

        if (call.TryGetProperty(IndexProperty, out var index) && index.ValueKind == JsonValueKind.Number && index.TryGetInt32(out var i))
        {
            part.Index = i;
        }

        if (call.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object)
        {
            if (function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
            {
                part.Name = name.GetString();
            }

            if (function.TryGetProperty("arguments", out var arguments))
            {
                SetStringOrRaw(arguments, out var text, out var raw);
                part.Arguments = text;
                part.RawJson = raw;
            }
        }

        return part;
    }

    private static MessagePart RawPart(JsonElement element) => new() { Type = "raw", RawJson = element.GetRawText() };

    private static void SetStringOrRaw(JsonElement value, out string? text, out string? rawJson)
    {
        var isString = value.ValueKind == JsonValueKind.String;
        text = isString ? value.GetString() : null;
        rawJson = isString ? null : value.GetRawText();
    }
}
