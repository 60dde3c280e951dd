using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Collector.Pipeline.Otlp;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.GenAi;

/// <summary>Every plain attribute key <see cref="GenAiSpanView"/> indexes: the attribute keys of <see cref="GenAiConventions.Concepts"/>, and a few more that are read on their own.</summary>
internal enum GenAiKey
{
    ProviderName,
    System,
    LlmProvider,
    LlmSystem,
    LangtraceServiceName,
    RequestModel,
    LegacyLlmModel,
    OpenInferenceModelName,
    ResponseModel,
    InputTokens,
    PromptTokens,
    OpenInferencePromptTokens,
    OutputTokens,
    CompletionTokens,
    OpenInferenceCompletionTokens,
    TotalTokens,
    OpenLlmetryTotalTokens,
    OpenInferenceTotalTokens,

    /// <summary>Langtrace's older usage form (<c>llm.token.counts</c>), read as a whole by Langtrace's own queries.</summary>
    LangtraceTokenCounts,

    /// <summary>Langtrace's older total (<c>gen_ai.request.total_tokens</c>).</summary>
    LangtraceRequestTotalTokens,
    OperationName,
    LangtraceServiceType,
    OpenLlmetryRequestType,
    OpenLlmetrySpanKind,
    OpenInferenceSpanKind,
    InputMessages,
    OutputMessages,
    LegacyPrompts,
    LegacyResponses,

    /// <summary><c>gen_ai.prompt</c> as a span attribute (Langtrace puts it on the prompt event).</summary>
    PromptText,

    /// <summary><c>gen_ai.completion</c> as a span attribute.</summary>
    CompletionText,

    /// <summary>Not a key: the number of keys.</summary>
    Count,
}

/// <summary>Message forms a span can carry beyond plain attributes.</summary>
[Flags]
internal enum GenAiMessageForms
{
    None = 0,
    OpenLlmetryPrompt = 1,
    OpenLlmetryCompletion = 2,
    OpenInferenceInput = 4,
    OpenInferenceOutput = 8,
    PromptEvent = 16,
    CompletionEvent = 32,
}

/// <summary>
/// What one span says about a GenAI call, under whichever convention produced it (OTel GenAI,
/// Langtrace, OpenLLMetry, OpenInference; docs/architecture.md "GenAI processing"): one pass over
/// its attributes and event names records where each known key is and which message forms are
/// present, then every concept is read from those positions in the precedence order of
/// <see cref="GenAiConventions.Concepts"/>. THE reader of provider, model, tokens, operation and
/// messages: the processors and the langtrace exporter read through it, so that they agree.
/// Building and reading it allocate nothing (names allocate only when not already normal).
/// </summary>
internal readonly struct GenAiSpanView
{
    private static readonly string[] KeyNames = BuildKeyNames();
    private static readonly FrozenDictionary<string, GenAiKey> KeysByName = BuildKeysByName();

    /// <summary>Per concept, its plain-attribute keys in precedence order (message concepts read their forms separately).</summary>
    private static readonly GenAiKey[][] ConceptKeys = BuildConceptKeys();

    private static readonly GenAiKey[] OperationKeys = ConceptKeys[(int)GenAiConcept.Operation];

    private readonly KeyPositions _positions;

    private GenAiSpanView(RepeatedField<KeyValue> attributes, KeyPositions positions, GenAiMessageForms forms)
    {
        Attributes = attributes;
        _positions = positions;
        Forms = forms;
    }

    public RepeatedField<KeyValue> Attributes { get; }

    public GenAiMessageForms Forms { get; }

    /// <summary>"Is an LLM span" (docs/architecture.md "GenAI processing"): some operation key whose value names an LLM operation (any <c>llm.request.type</c> does).</summary>
    public bool IsLlm
    {
        get
        {
            for (var i = 0; i < OperationKeys.Length; i++)
            {
                if (Text(OperationKeys[i]) is { } text && GenAiOperation.IsLlm(GenAiOperation.Parse(KeyNames[(int)OperationKeys[i]], text)))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Any GenAI-ish span (LLM, agent, tool, retrieval, framework): an operation key, or a provider / request-model key.</summary>
    public bool IsGenAi
    {
        get
        {
            for (var i = 0; i < OperationKeys.Length; i++)
            {
                if (Has(OperationKeys[i]))
                {
                    return true;
                }
            }

            return Has(GenAiKey.ProviderName) || Has(GenAiKey.System) || Has(GenAiKey.RequestModel) || Has(GenAiKey.OpenInferenceModelName);
        }
    }

    public static GenAiSpanView Of(Span span)
    {
        var view = Of(span.Attributes);
        var forms = view.Forms;
        var events = span.Events;
        for (var i = 0; i < events.Count; i++)
        {
            var name = events[i].Name;
            if (string.Equals(name, GenAiConventions.LangtracePromptEvent, StringComparison.Ordinal))
            {
                forms |= GenAiMessageForms.PromptEvent;
            }
            else if (string.Equals(name, GenAiConventions.LangtraceCompletionEvent, StringComparison.Ordinal))
            {
                forms |= GenAiMessageForms.CompletionEvent;
            }
        }

        return new GenAiSpanView(view.Attributes, view._positions, forms);
    }

    /// <summary>The view of an attribute list alone (no events: the event message forms read as absent).</summary>
    public static GenAiSpanView Of(RepeatedField<KeyValue> attributes)
    {
        var positions = default(KeyPositions);
        var forms = GenAiMessageForms.None;
        for (var i = 0; i < attributes.Count; i++)
        {
            var key = attributes[i].Key;
            if (KeysByName.TryGetValue(key, out var known))
            {
                // The first occurrence wins, as a linear search would find it.
                if (positions[(int)known] == 0)
                {
                    positions[(int)known] = i + 1;
                }
            }
            else if (key.Length > 0 && key[0] is 'g' or 'l')
            {
                forms |= IndexedForm(key);
            }
        }

        return new GenAiSpanView(attributes, positions, forms);
    }

    /// <summary>
    /// <see cref="IsLlm"/> without the full view: only the operation keys are looked for (a few
    /// ordinal compares per attribute instead of a dictionary lookup and the indexed-form checks),
    /// since classifying every span is the hot use.
    /// </summary>
    public static bool IsLlmSpan(RepeatedField<KeyValue> attributes) => OperationKeysOnly(attributes).IsLlm;

    /// <summary><see cref="Operation"/> without the full view, as <see cref="IsLlmSpan"/>.</summary>
    public static OperationKind OperationOf(RepeatedField<KeyValue> attributes) => OperationKeysOnly(attributes).Operation();

    /// <summary>A view that knows the operation keys alone: right for IsLlm and Operation(), wrong for anything else, so it never leaves this type.</summary>
    private static GenAiSpanView OperationKeysOnly(RepeatedField<KeyValue> attributes)
    {
        var positions = default(KeyPositions);
        for (var i = 0; i < attributes.Count; i++)
        {
            var key = attributes[i].Key;
            for (var k = 0; k < OperationKeys.Length; k++)
            {
                var operationKey = (int)OperationKeys[k];
                if (string.Equals(key, KeyNames[operationKey], StringComparison.Ordinal))
                {
                    // The first occurrence wins, as in Of().
                    if (positions[operationKey] == 0)
                    {
                        positions[operationKey] = i + 1;
                    }

                    break;
                }
            }
        }

        return new GenAiSpanView(attributes, positions, GenAiMessageForms.None);
    }

    /// <summary>The key's name (<c>gen_ai.usage.input_tokens</c>).</summary>
    public static string Name(GenAiKey key) => KeyNames[(int)key];

    /// <summary>Index of <paramref name="key"/> in <see cref="Attributes"/>, or -1.</summary>
    public int IndexOf(GenAiKey key) => _positions[(int)key] - 1;

    public bool Has(GenAiKey key) => _positions[(int)key] != 0;

    public bool Has(GenAiMessageForms form) => (Forms & form) != 0;

    /// <summary>The value under <paramref name="key"/>; null when absent.</summary>
    public AnyValue? Value(GenAiKey key)
    {
        var index = IndexOf(key);
        return index < 0 ? null : Attributes[index].Value;
    }

    /// <summary>The string value under <paramref name="key"/>; null when absent or not a string.</summary>
    public string? Text(GenAiKey key) =>
        Value(key) is { ValueCase: AnyValue.ValueOneofCase.StringValue } value ? value.StringValue : null;

    /// <summary>The span's operation: the first understood operation key, made more specific by later keys that agree.</summary>
    public OperationKind Operation()
    {
        var result = OperationKind.Unknown;
        for (var i = 0; i < OperationKeys.Length; i++)
        {
            if (Text(OperationKeys[i]) is not { } text)
            {
                continue;
            }

            var kind = GenAiOperation.Parse(KeyNames[(int)OperationKeys[i]], text);
            if (result == OperationKind.Unknown || (GenAiOperation.Compatible(result, kind) && kind != result))
            {
                result = GenAiOperation.MoreSpecific(result, kind);
            }
        }

        return result;
    }

    /// <summary>Provider, lowercase and trimmed: <c>gen_ai.provider.name</c> before the deprecated <c>gen_ai.system</c>, then OpenInference, then <c>langtrace.service.name</c> on LLM spans.</summary>
    public string? Provider() => FirstName(GenAiConcept.Provider);

    /// <summary>Model, lowercase and trimmed: every convention's request model key first, then the response model.</summary>
    public string? Model() => FirstName(GenAiConcept.RequestModel) ?? FirstName(GenAiConcept.ResponseModel);

    public long? InputTokens() => FirstCount(GenAiConcept.InputTokens);

    public long? OutputTokens() => FirstCount(GenAiConcept.OutputTokens);

    /// <summary>The explicit total when present, else input + output (a missing side counts 0), else null.</summary>
    public long? TotalTokens()
    {
        if (FirstCount(GenAiConcept.TotalTokens) is { } total)
        {
            return total;
        }

        var input = InputTokens();
        var output = OutputTokens();
        return input is null && output is null ? null : (input ?? 0) + (output ?? 0);
    }

    /// <summary>First non-blank value of a name-like concept (provider, models), normalised.</summary>
    public string? FirstName(GenAiConcept concept)
    {
        var keys = ConceptKeys[(int)concept];
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] == GenAiKey.LangtraceServiceName && !IsLlm)
            {
                // The service name is a provider only on LLM spans (on a framework span it is "langchain").
                continue;
            }

            if (Text(keys[i]) is { } text && !string.IsNullOrWhiteSpace(text))
            {
                return GenAiConventions.NormalizeName(text);
            }
        }

        return null;
    }

    /// <summary>First valid count of a token concept; invalid values (garbage strings, negatives, fractions) fall through to the next key.</summary>
    public long? FirstCount(GenAiConcept concept)
    {
        var keys = ConceptKeys[(int)concept];
        for (var i = 0; i < keys.Length; i++)
        {
            if (Value(keys[i]) is { } value && GenAiConventions.TryGetCount(value, out var count))
            {
                return count;
            }
        }

        return null;
    }

    /// <summary>
    /// The messages of <paramref name="concept"/> (<see cref="GenAiConcept.Prompt"/> or
    /// <see cref="GenAiConcept.Completion"/>) from the first form the span carries, in the order of
    /// <see cref="GenAiConventions.Concepts"/>: the OTel JSON attribute, the Langtrace event, the
    /// legacy JSON attribute, the OpenLLMetry and the OpenInference indexed forms. Null when none
    /// is present or readable. Allocates the messages.
    /// </summary>
    public List<ChatMessage>? ReadMessages(Span span, GenAiConcept concept)
    {
        var prompt = concept == GenAiConcept.Prompt;
        if (Text(prompt ? GenAiKey.InputMessages : GenAiKey.OutputMessages) is { } json && MessageJson.TryParse(json) is { } fromJson)
        {
            return fromJson;
        }

        if (Has(prompt ? GenAiMessageForms.PromptEvent : GenAiMessageForms.CompletionEvent) && EventText(span, prompt) is { } eventJson
            && MessageJson.TryParse(eventJson) is { } fromEvent)
        {
            return fromEvent;
        }

        if (Text(prompt ? GenAiKey.LegacyPrompts : GenAiKey.LegacyResponses) is { } legacy && MessageJson.TryParse(legacy) is { } fromLegacy)
        {
            return fromLegacy;
        }

        if (IndexedForm(prompt) is { } form)
        {
            return form.Read(Attributes);
        }

        return null;
    }

    /// <summary>The first indexed form of the prompt (or completion) present on the span: OpenLLMetry before OpenInference.</summary>
    public IndexedMessageForm? IndexedForm(bool prompt) =>
        prompt
            ? Has(GenAiMessageForms.OpenLlmetryPrompt) ? IndexedMessageForm.OpenLlmetryPrompt
              : Has(GenAiMessageForms.OpenInferenceInput) ? IndexedMessageForm.OpenInferenceInput : null
            : Has(GenAiMessageForms.OpenLlmetryCompletion) ? IndexedMessageForm.OpenLlmetryCompletion
              : Has(GenAiMessageForms.OpenInferenceOutput) ? IndexedMessageForm.OpenInferenceOutput : null;

    private static string? EventText(Span span, bool prompt)
    {
        var name = prompt ? GenAiConventions.LangtracePromptEvent : GenAiConventions.LangtraceCompletionEvent;
        var attribute = prompt ? GenAiConventions.LangtracePromptAttribute : GenAiConventions.LangtraceCompletionAttribute;
        for (var i = 0; i < span.Events.Count; i++)
        {
            var e = span.Events[i];
            if (string.Equals(e.Name, name, StringComparison.Ordinal) && OtlpAttributes.FindString(e.Attributes, attribute) is { } text)
            {
                return text;
            }
        }

        return null;
    }

    private static GenAiMessageForms IndexedForm(string key) =>
        IndexedMessageForm.OpenLlmetryPrompt.TryParseKey(key, out _, out _) ? GenAiMessageForms.OpenLlmetryPrompt
        : IndexedMessageForm.OpenLlmetryCompletion.TryParseKey(key, out _, out _) ? GenAiMessageForms.OpenLlmetryCompletion
        : IndexedMessageForm.OpenInferenceInput.TryParseKey(key, out _, out _) ? GenAiMessageForms.OpenInferenceInput
        : IndexedMessageForm.OpenInferenceOutput.TryParseKey(key, out _, out _) ? GenAiMessageForms.OpenInferenceOutput
        : GenAiMessageForms.None;

    private static string[] BuildKeyNames()
    {
        var names = new string[(int)GenAiKey.Count];
        names[(int)GenAiKey.ProviderName] = GenAiConventions.ProviderName;
        names[(int)GenAiKey.System] = GenAiConventions.System;
        names[(int)GenAiKey.LlmProvider] = GenAiConventions.LlmProvider;
        names[(int)GenAiKey.LlmSystem] = GenAiConventions.LlmSystem;
        names[(int)GenAiKey.LangtraceServiceName] = GenAiConventions.LangtraceServiceName;
        names[(int)GenAiKey.RequestModel] = GenAiConventions.RequestModel;
        names[(int)GenAiKey.LegacyLlmModel] = GenAiConventions.LegacyLlmModel;
        names[(int)GenAiKey.OpenInferenceModelName] = GenAiConventions.OpenInferenceModelName;
        names[(int)GenAiKey.ResponseModel] = GenAiConventions.ResponseModel;
        names[(int)GenAiKey.InputTokens] = GenAiConventions.InputTokensKey;
        names[(int)GenAiKey.PromptTokens] = GenAiConventions.PromptTokensKey;
        names[(int)GenAiKey.OpenInferencePromptTokens] = GenAiConventions.OpenInferencePromptTokensKey;
        names[(int)GenAiKey.OutputTokens] = GenAiConventions.OutputTokensKey;
        names[(int)GenAiKey.CompletionTokens] = GenAiConventions.CompletionTokensKey;
        names[(int)GenAiKey.OpenInferenceCompletionTokens] = GenAiConventions.OpenInferenceCompletionTokensKey;
        names[(int)GenAiKey.TotalTokens] = GenAiConventions.TotalTokensKey;
        names[(int)GenAiKey.OpenLlmetryTotalTokens] = GenAiConventions.OpenLlmetryTotalTokensKey;
        names[(int)GenAiKey.OpenInferenceTotalTokens] = GenAiConventions.OpenInferenceTotalTokensKey;
        names[(int)GenAiKey.LangtraceTokenCounts] = GenAiConventions.LangtraceTokenCountsKey;
        names[(int)GenAiKey.LangtraceRequestTotalTokens] = GenAiConventions.LangtraceRequestTotalTokensKey;
        names[(int)GenAiKey.OperationName] = GenAiOperation.OtelKey;
        names[(int)GenAiKey.LangtraceServiceType] = GenAiOperation.LangtraceKey;
        names[(int)GenAiKey.OpenLlmetryRequestType] = GenAiOperation.OpenLlmetryRequestTypeKey;
        names[(int)GenAiKey.OpenLlmetrySpanKind] = GenAiOperation.OpenLlmetrySpanKindKey;
        names[(int)GenAiKey.OpenInferenceSpanKind] = GenAiOperation.OpenInferenceKey;
        names[(int)GenAiKey.InputMessages] = GenAiConventions.InputMessages;
        names[(int)GenAiKey.OutputMessages] = GenAiConventions.OutputMessages;
        names[(int)GenAiKey.LegacyPrompts] = GenAiConventions.LegacyPrompts;
        names[(int)GenAiKey.LegacyResponses] = GenAiConventions.LegacyResponses;
        names[(int)GenAiKey.PromptText] = GenAiConventions.LangtracePromptAttribute;
        names[(int)GenAiKey.CompletionText] = GenAiConventions.LangtraceCompletionAttribute;
        if (Array.IndexOf(names, null) is var missing and >= 0)
        {
            throw new InvalidOperationException($"GenAiKey {(GenAiKey)missing} has no name");
        }

        return names;
    }

    private static FrozenDictionary<string, GenAiKey> BuildKeysByName()
    {
        var byName = new Dictionary<string, GenAiKey>(StringComparer.Ordinal);
        for (var i = 0; i < KeyNames.Length; i++)
        {
            byName.Add(KeyNames[i], (GenAiKey)i);
        }

        return byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static GenAiKey[][] BuildConceptKeys()
    {
        var concepts = GenAiConventions.Concepts;
        var result = new GenAiKey[concepts.Length][];
        for (var c = 0; c < concepts.Length; c++)
        {
            var keys = new List<GenAiKey>();
            foreach (var key in concepts[c].Keys)
            {
                if (key.Form == ConceptKeyForm.Attribute)
                {
                    // Every attribute key of the concept table is indexed; a missing one is a programming error.
                    keys.Add(KeysByName[key.Key]);
                }
            }

            result[c] = [.. keys];
        }

        return result;
    }

    /// <summary>1 + the attribute index of each <see cref="GenAiKey"/> (0: absent), inline in the view.</summary>
    [InlineArray((int)GenAiKey.Count)]
    private struct KeyPositions
    {
        private int _first;
    }
}
