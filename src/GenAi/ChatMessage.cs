using OpenTelemetry.Proto.Common.V1;

namespace Collector.GenAi;

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

    /// <summary>
    /// True when two message lists say the same thing: same roles (case-insensitive), texts and
    /// tool calls (name, arguments). Ids, finish reasons and extras are not compared: two
    /// instrumentations of one call often differ there without disagreeing.
    /// </summary>
    public static bool SameContent(IReadOnlyList<ChatMessage> a, IReadOnlyList<ChatMessage> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!string.Equals(a[i].Role, b[i].Role, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(a[i].Text(), b[i].Text(), StringComparison.Ordinal)
                || !SameToolCalls(a[i].Parts, b[i].Parts))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameToolCalls(List<MessagePart> a, List<MessagePart> b)
    {
        int i = 0, j = 0;
        while (true)
        {
            while (i < a.Count && a[i].Type != MessagePart.ToolCallType)
            {
                i++;
            }

            while (j < b.Count && b[j].Type != MessagePart.ToolCallType)
            {
                j++;
            }

            if (i == a.Count || j == b.Count)
            {
                return i == a.Count && j == b.Count;
            }

            if (!string.Equals(a[i].Name, b[j].Name, StringComparison.Ordinal)
                || !string.Equals(a[i].Arguments ?? a[i].RawJson, b[j].Arguments ?? b[j].RawJson, StringComparison.Ordinal))
            {
                return false;
            }

            i++;
            j++;
        }
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
