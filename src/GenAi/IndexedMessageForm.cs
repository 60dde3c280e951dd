using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.GenAi;

/// <summary>
/// One indexed message form: OpenLLMetry <c>gen_ai.prompt.{i}.role</c> /
/// <c>gen_ai.prompt.{i}.tool_calls.{j}.name</c>, or OpenInference
/// <c>llm.input_messages.{i}.message.role</c> / <c>...message.tool_calls.{j}.tool_call.function.name</c>.
/// Sub-keys that are not strings or not known stay as <see cref="ChatMessage.Extras"/> so that nothing is lost.
/// </summary>
internal sealed class IndexedMessageForm
{
    public static readonly IndexedMessageForm OpenLlmetryPrompt = new(GenAiConventions.OpenLlmetryPromptPrefix, ".", "id", "name", "arguments");
    public static readonly IndexedMessageForm OpenLlmetryCompletion = new(GenAiConventions.OpenLlmetryCompletionPrefix, ".", "id", "name", "arguments");
    public static readonly IndexedMessageForm OpenInferenceInput = new(GenAiConventions.OpenInferenceInputPrefix, GenAiConventions.OpenInferenceMessageInfix, "tool_call.id", "tool_call.function.name", "tool_call.function.arguments");
    public static readonly IndexedMessageForm OpenInferenceOutput = new(GenAiConventions.OpenInferenceOutputPrefix, GenAiConventions.OpenInferenceMessageInfix, "tool_call.id", "tool_call.function.name", "tool_call.function.arguments");

    private const string RoleKey = "role";
    private const string ContentKey = "content";
    private const string NameKey = "name";
    private const string FinishReasonKey = "finish_reason";
    private const string ToolCallIdKey = "tool_call_id";
    private const string ToolCallsPrefix = "tool_calls.";

    /// <summary>Indices above this are not treated as messages (a typo'd key, not a 10-million-message prompt).</summary>
    private const int MaxIndex = 9_999_999;

    private IndexedMessageForm(string prefix, string infix, string toolCallId, string toolCallName, string toolCallArguments)
    {
        Prefix = prefix;
        Infix = infix;
        ToolCallId = toolCallId;
        ToolCallName = toolCallName;
        ToolCallArguments = toolCallArguments;
    }

    /// <summary>Key prefix up to the message index (<c>gen_ai.prompt.</c>).</summary>
    public string Prefix { get; }

    /// <summary>Between message index and sub-key: "." or ".message.".</summary>
    public string Infix { get; }

    private string ToolCallId { get; }

    private string ToolCallName { get; }

    private string ToolCallArguments { get; }

    /// <summary>The form of an indexed concept key from <see cref="GenAiConventions.Concepts"/>.</summary>
    public static IndexedMessageForm For(ConceptKey key) => key.Key switch
    {
        GenAiConventions.OpenLlmetryPromptPrefix => OpenLlmetryPrompt,
        GenAiConventions.OpenLlmetryCompletionPrefix => OpenLlmetryCompletion,
        GenAiConventions.OpenInferenceInputPrefix => OpenInferenceInput,
        GenAiConventions.OpenInferenceOutputPrefix => OpenInferenceOutput,
        _ => throw new ArgumentException($"not an indexed message key: {key.Key}", nameof(key)),
    };

    /// <summary>True when <paramref name="key"/> is a message key of this form; <paramref name="subKeyStart"/> is where the sub-key begins.</summary>
    public bool TryParseKey(string key, out int index, out int subKeyStart)
    {
        index = 0;
        subKeyStart = 0;
        if (!key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var position = Prefix.Length;
        if (!TryParseIndex(key, ref position, out index))
        {
            return false;
        }

        if (string.CompareOrdinal(key, position, Infix, 0, Infix.Length) != 0 || key.Length == position + Infix.Length)
        {
            return false;
        }

        subKeyStart = position + Infix.Length;
        return true;
    }

    /// <summary>True when any attribute is a message key of this form. No allocation.</summary>
    public bool IsPresent(RepeatedField<KeyValue> attributes)
    {
        for (var i = 0; i < attributes.Count; i++)
        {
            if (TryParseKey(attributes[i].Key, out _, out _))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The messages of this form, ordered by index; null when there are none.</summary>
    public List<ChatMessage>? Read(RepeatedField<KeyValue> attributes)
    {
        Dictionary<int, MessageBuilder>? builders = null;
        for (var i = 0; i < attributes.Count; i++)
        {
            var attribute = attributes[i];
            if (!TryParseKey(attribute.Key, out var index, out var subKeyStart))
            {
                continue;
            }

            builders ??= [];
            if (!builders.TryGetValue(index, out var builder))
            {
                builder = new MessageBuilder();
                builders.Add(index, builder);
            }

            Apply(builder, attribute.Key, subKeyStart, attribute.Value ?? new AnyValue());
        }

        if (builders is null)
        {
            return null;
        }

        var indices = new List<int>(builders.Keys);
        indices.Sort();
        var messages = new List<ChatMessage>(indices.Count);
        for (var position = 0; position < indices.Count; position++)
        {
            var message = builders[indices[position]].Build();
            if (indices[position] != position)
            {
                message.Index = indices[position];
            }

            messages.Add(message);
        }

        return messages;
    }

    /// <summary>Removes every message key of this form; returns how many were removed.</summary>
    public int Remove(RepeatedField<KeyValue> attributes)
    {
        var removed = 0;
        for (var i = attributes.Count - 1; i >= 0; i--)
        {
            if (TryParseKey(attributes[i].Key, out _, out _))
            {
                attributes.RemoveAt(i);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>
    /// Appends <paramref name="messages"/> in this form. Several text parts are joined; parts of
    /// other types than text / tool_call / tool_call_response have no indexed form and are skipped.
    /// </summary>
    public void Write(IReadOnlyList<ChatMessage> messages, RepeatedField<KeyValue> attributes)
    {
        for (var position = 0; position < messages.Count; position++)
        {
            var message = messages[position];
            var basePrefix = Prefix + (message.Index ?? position).ToString(System.Globalization.CultureInfo.InvariantCulture) + Infix;
            AddString(attributes, basePrefix + RoleKey, message.Role);

            MessagePart? response = null;
            foreach (var part in message.Parts)
            {
                if (part.Type == MessagePart.ToolCallResponseType)
                {
                    response = part;
                    break;
                }
            }

            if (response is not null)
            {
                AddString(attributes, basePrefix + ToolCallIdKey, response.Id);
                AddString(attributes, basePrefix + ContentKey, response.Content ?? response.RawJson);
            }
            else
            {
                AddString(attributes, basePrefix + ContentKey, message.Text());
            }

            AddString(attributes, basePrefix + NameKey, message.Name);
            AddString(attributes, basePrefix + FinishReasonKey, message.FinishReason);

            var ordinal = 0;
            foreach (var part in message.Parts)
            {
                if (part.Type != MessagePart.ToolCallType)
                {
                    continue;
                }

                var callPrefix = basePrefix + ToolCallsPrefix + (part.Index ?? ordinal).ToString(System.Globalization.CultureInfo.InvariantCulture) + ".";
                AddString(attributes, callPrefix + ToolCallId, part.Id);
                AddString(attributes, callPrefix + ToolCallName, part.Name);
                AddString(attributes, callPrefix + ToolCallArguments, part.Arguments ?? part.RawJson);
                ordinal++;
            }

            foreach (var extra in message.Extras)
            {
                attributes.Add(new KeyValue { Key = basePrefix + extra.Key, Value = extra.Value });
            }
        }
    }

    private static void AddString(RepeatedField<KeyValue> attributes, string key, string? value)
    {
        if (value is not null)
        {
            attributes.Add(new KeyValue { Key = key, Value = new AnyValue { StringValue = value } });
        }
    }

    /// <summary>Decimal index without sign or leading zeros (so that it prints back to the same text), then '.'.</summary>
    private static bool TryParseIndex(string key, ref int position, out int index)
    {
        index = 0;
        var start = position;
        while (position < key.Length && char.IsAsciiDigit(key[position]))
        {
            index = (index * 10) + (key[position] - '0');
            position++;
            if (index > MaxIndex)
            {
                return false;
            }
        }

        var digits = position - start;
        return digits > 0 && (digits == 1 || key[start] != '0') && position < key.Length && key[position] == '.';
    }

    private void Apply(MessageBuilder builder, string key, int subKeyStart, AnyValue value)
    {
        var subKey = key.AsSpan(subKeyStart);
        if (value.ValueCase == AnyValue.ValueOneofCase.StringValue)
        {
            var text = value.StringValue;
            if (Known(subKey, RoleKey, builder.Message.Role))
            {
                builder.Message.Role = text;
                return;
            }

            if (Known(subKey, ContentKey, builder.Content))
            {
                builder.Content = text;
                return;
            }

            if (Known(subKey, NameKey, builder.Message.Name))
            {
                builder.Message.Name = text;
                return;
            }

            if (Known(subKey, FinishReasonKey, builder.Message.FinishReason))
            {
                builder.Message.FinishReason = text;
                return;
            }

            if (Known(subKey, ToolCallIdKey, builder.ToolCallId))
            {
                builder.ToolCallId = text;
                return;
            }

            if (subKey.StartsWith(ToolCallsPrefix, StringComparison.Ordinal) && TryApplyToolCall(builder, key, subKeyStart + ToolCallsPrefix.Length, text))
            {
                return;
            }
        }

        builder.Message.Extras.Add(new KeyValuePair<string, AnyValue>(subKey.ToString(), value));
    }

    private bool TryApplyToolCall(MessageBuilder builder, string key, int position, string text)
    {
        if (!TryParseIndex(key, ref position, out var callIndex))
        {
            return false;
        }

        var field = key.AsSpan(position + 1);
        builder.ToolCalls ??= [];
        builder.ToolCalls.TryGetValue(callIndex, out var part);
        if (Known(field, ToolCallId, part?.Id))
        {
            Call(builder, callIndex, part).Id = text;
            return true;
        }

        if (Known(field, ToolCallName, part?.Name))
        {
            Call(builder, callIndex, part).Name = text;
            return true;
        }

        if (Known(field, ToolCallArguments, part?.Arguments))
        {
            Call(builder, callIndex, part).Arguments = text;
            return true;
        }

        return false;
    }

    private static MessagePart Call(MessageBuilder builder, int callIndex, MessagePart? existing)
    {
        if (existing is not null)
        {
            return existing;
        }

        var part = new MessagePart { Type = MessagePart.ToolCallType, Index = callIndex };
        builder.ToolCalls!.Add(callIndex, part);
        return part;
    }

    /// <summary>The sub-key names a field that is still free (a repeated key goes to the extras rather than overwrite).</summary>
    private static bool Known(ReadOnlySpan<char> subKey, string name, string? current) =>
        current is null && subKey.Equals(name, StringComparison.Ordinal);

    private sealed class MessageBuilder
    {
        public ChatMessage Message { get; } = new();

        public string? Content { get; set; }

        public string? ToolCallId { get; set; }

        public SortedDictionary<int, MessagePart>? ToolCalls { get; set; }

        public ChatMessage Build()
        {
            if (ToolCallId is not null)
            {
                Message.Parts.Add(new MessagePart { Type = MessagePart.ToolCallResponseType, Id = ToolCallId, Content = Content });
            }
            else if (Content is not null)
            {
                Message.Parts.Add(MessagePart.Text(Content));
            }

            if (ToolCalls is not null)
            {
                var ordinal = 0;
                foreach (var (index, part) in ToolCalls)
                {
                    // Keep the original index only when renumbering would change it.
                    part.Index = index == ordinal ? null : index;
                    Message.Parts.Add(part);
                    ordinal++;
                }
            }

            return Message;
        }
    }
}
