using OpenTelemetry.Proto.Common.V1;

namespace Collector.Processors.GenAi;

/// <summary>
/// One chat message in a convention-neutral shape: the fields every message form can express
/// (role, name, finish reason, parts) plus <see cref="Extras"/>, the indexed sub-keys no
/// message form has a place for, kept verbatim so that indexed -> JSON -> indexed loses nothing.
/// </summary>
internal sealed class ChatMessage
{
    public string? Role { get; set; }

    public string? Name { get; set; }

    public string? FinishReason { get; set; }

    public List<MessagePart> Parts { get; } = [];

    /// <summary>Indexed sub-keys (relative to the message, e.g. <c>tool_calls.0.function.name</c>) and their values.</summary>
    public List<KeyValuePair<string, AnyValue>> Extras { get; } = [];

    /// <summary>Original message index when it differed from the message's position (sparse indices).</summary>
    public int? Index { get; set; }

    /// <summary>All text parts concatenated; null when the message has none.</summary>
    public string? Text()
    {
        string? text = null;
        foreach (var part in Parts)
        {
            if (part.Type == MessagePart.TextType && part.Content is not null)
            {
                text = text is null ? part.Content : text + part.Content;
            }
        }

        return text;
    }
}

/// <summary>
/// A message part as in the OTel GenAI message schema: <c>text</c> (content), <c>tool_call</c>
/// (id, name, arguments), <c>tool_call_response</c> (id, response), or any other type kept as raw JSON.
/// </summary>
internal sealed class MessagePart
{
    public const string TextType = "text";
    public const string ToolCallType = "tool_call";
    public const string ToolCallResponseType = "tool_call_response";

    public required string Type { get; init; }

    /// <summary>Text of a text part; the response of a tool_call_response part when it is a string.</summary>
    public string? Content { get; set; }

    public string? Id { get; set; }

    public string? Name { get; set; }

    /// <summary>Tool call arguments as text (the indexed forms carry them as a JSON string).</summary>
    public string? Arguments { get; set; }

    /// <summary>A non-string value (arguments object, structured response) or a whole unknown part, as raw JSON.</summary>
    public string? RawJson { get; set; }

    /// <summary>Original tool-call index when it differed from the call's ordinal within the message.</summary>
    public int? Index { get; set; }

    public static MessagePart Text(string content) => new() { Type = TextType, Content = content };
}
