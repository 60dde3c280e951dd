using System.Globalization;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.GenAi;

/// <summary>
/// The GenAI conventions (OTel GenAI, Langtrace, OpenLLMetry, OpenInference; docs/architecture.md "GenAI processing") in one
/// place: which keys carry which concept, and readers that accept any convention (built on
/// <see cref="GenAiSpanView"/>, which reads all of them in one pass without allocating).
/// Attribute access by key is <see cref="Collector.Pipeline.Otlp.OtlpAttributes"/>.
/// </summary>
internal static class GenAiConventions
{
    public const string ProviderName = "gen_ai.provider.name";
    public const string System = "gen_ai.system";
    public const string LangtraceServiceName = "langtrace.service.name";
    public const string LlmProvider = "llm.provider";
    public const string LlmSystem = "llm.system";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string LegacyLlmModel = "llm.model";
    public const string OpenInferenceModelName = "llm.model_name";
    public const string InputTokensKey = "gen_ai.usage.input_tokens";
    public const string OutputTokensKey = "gen_ai.usage.output_tokens";
    public const string PromptTokensKey = "gen_ai.usage.prompt_tokens";
    public const string CompletionTokensKey = "gen_ai.usage.completion_tokens";
    public const string TotalTokensKey = "gen_ai.usage.total_tokens";
    public const string OpenLlmetryTotalTokensKey = "llm.usage.total_tokens";
    public const string OpenInferencePromptTokensKey = "llm.token_count.prompt";
    public const string OpenInferenceCompletionTokensKey = "llm.token_count.completion";
    public const string OpenInferenceTotalTokensKey = "llm.token_count.total";
    public const string LangtraceTokenCountsKey = "llm.token.counts";
    public const string LangtraceRequestTotalTokensKey = "gen_ai.request.total_tokens";
    public const string InputMessages = "gen_ai.input.messages";
    public const string OutputMessages = "gen_ai.output.messages";
    public const string LangtracePromptEvent = "gen_ai.content.prompt";
    public const string LangtraceCompletionEvent = "gen_ai.content.completion";
    public const string LangtracePromptAttribute = "gen_ai.prompt";
    public const string LangtraceCompletionAttribute = "gen_ai.completion";
    public const string LegacyPrompts = "llm.prompts";
    public const string LegacyResponses = "llm.responses";
    public const string OpenLlmetryPromptPrefix = "gen_ai.prompt.";
    public const string OpenLlmetryCompletionPrefix = "gen_ai.completion.";
    public const string OpenInferenceInputPrefix = "llm.input_messages.";
    public const string OpenInferenceOutputPrefix = "llm.output_messages.";
    public const string OpenInferenceMessageInfix = ".message.";
    public const string EventNameAttribute = "event.name";

    /// <summary>docs/architecture.md "GenAI processing" as data, indexed by <see cref="GenAiConcept"/>; keys in precedence order.</summary>
    public static readonly ConceptDescriptor[] Concepts =
    [
        new(GenAiConcept.Provider, "provider", ConceptValueKind.Name,
        [
            new(ProviderName, GenAiConvention.OtelGenAi),
            new(System, GenAiConvention.OtelGenAi | GenAiConvention.Langtrace | GenAiConvention.OpenLlmetry),
            new(LlmProvider, GenAiConvention.OpenInference),
            new(LlmSystem, GenAiConvention.OpenInference),
            new(LangtraceServiceName, GenAiConvention.Langtrace, OnlyOnLlmSpans: true),
        ]),
        new(GenAiConcept.RequestModel, "request_model", ConceptValueKind.Name,
        [
            new(RequestModel, GenAiConvention.OtelGenAi | GenAiConvention.Langtrace | GenAiConvention.OpenLlmetry),
            new(LegacyLlmModel, GenAiConvention.Langtrace),
            new(OpenInferenceModelName, GenAiConvention.OpenInference),
        ]),
        new(GenAiConcept.ResponseModel, "response_model", ConceptValueKind.Name,
        [
            new(ResponseModel, GenAiConvention.OtelGenAi | GenAiConvention.Langtrace | GenAiConvention.OpenLlmetry),
        ]),
        new(GenAiConcept.InputTokens, "input_tokens", ConceptValueKind.Count,
        [
            new(InputTokensKey, GenAiConvention.OtelGenAi | GenAiConvention.Langtrace),
            new(PromptTokensKey, GenAiConvention.Langtrace | GenAiConvention.OpenLlmetry),
            new(OpenInferencePromptTokensKey, GenAiConvention.OpenInference),
        ]),
        new(GenAiConcept.OutputTokens, "output_tokens", ConceptValueKind.Count,
        [
            new(OutputTokensKey, GenAiConvention.OtelGenAi | GenAiConvention.Langtrace),
            new(CompletionTokensKey, GenAiConvention.Langtrace | GenAiConvention.OpenLlmetry),
            new(OpenInferenceCompletionTokensKey, GenAiConvention.OpenInference),
        ]),
        new(GenAiConcept.TotalTokens, "total_tokens", ConceptValueKind.Count,
        [
            new(TotalTokensKey, GenAiConvention.Langtrace),
            new(OpenLlmetryTotalTokensKey, GenAiConvention.OpenLlmetry),
            new(OpenInferenceTotalTokensKey, GenAiConvention.OpenInference),
        ]),
        new(GenAiConcept.Operation, "operation", ConceptValueKind.Operation,
        [
            new(GenAiOperation.OtelKey, GenAiConvention.OtelGenAi),
            new(GenAiOperation.LangtraceKey, GenAiConvention.Langtrace),
            new(GenAiOperation.OpenLlmetryRequestTypeKey, GenAiConvention.OpenLlmetry),
            new(GenAiOperation.OpenLlmetrySpanKindKey, GenAiConvention.OpenLlmetry),
            new(GenAiOperation.OpenInferenceKey, GenAiConvention.OpenInference),
        ]),
        new(GenAiConcept.Prompt, "prompt", ConceptValueKind.Messages,
        [
            new(InputMessages, GenAiConvention.OtelGenAi),
            new(LangtracePromptEvent, GenAiConvention.Langtrace, ConceptKeyForm.SpanEvent, EventAttribute: LangtracePromptAttribute),
            new(LegacyPrompts, GenAiConvention.Langtrace),
            new(OpenLlmetryPromptPrefix, GenAiConvention.OpenLlmetry, ConceptKeyForm.IndexedMessages),
            new(OpenInferenceInputPrefix, GenAiConvention.OpenInference, ConceptKeyForm.IndexedMessages, IndexSuffix: OpenInferenceMessageInfix),
        ]),
        new(GenAiConcept.Completion, "completion", ConceptValueKind.Messages,
        [
            new(OutputMessages, GenAiConvention.OtelGenAi),
            new(LangtraceCompletionEvent, GenAiConvention.Langtrace, ConceptKeyForm.SpanEvent, EventAttribute: LangtraceCompletionAttribute),
            new(LegacyResponses, GenAiConvention.Langtrace),
            new(OpenLlmetryCompletionPrefix, GenAiConvention.OpenLlmetry, ConceptKeyForm.IndexedMessages),
            new(OpenInferenceOutputPrefix, GenAiConvention.OpenInference, ConceptKeyForm.IndexedMessages, IndexSuffix: OpenInferenceMessageInfix),
        ]),
    ];

    /// <summary>Key prefixes owned by a GenAI convention (used to rate how rich a span is).</summary>
    private static readonly string[] GenAiKeyPrefixes = ["gen_ai.", "llm.", "langtrace.", "traceloop.", "openinference.", "embedding.", "retrieval.", "reranker.", "tool."];

    /// <summary>OpenInference's generic payload keys, GenAI only by context.</summary>
    private static readonly string[] GenAiExactKeys = ["input.value", "input.mime_type", "output.value", "output.mime_type"];

    private static readonly string[] InferenceEventNames =
    [
        "gen_ai.user.message", "gen_ai.system.message", "gen_ai.assistant.message", "gen_ai.tool.message",
        "gen_ai.choice", "gen_ai.client.inference.operation.details", LangtracePromptEvent, LangtraceCompletionEvent,
    ];

    public static ConceptDescriptor Descriptor(GenAiConcept concept) => Concepts[(int)concept];

    // ---- classification -------------------------------------------------------------------

    /// <summary>"Is an LLM span" (docs/architecture.md "GenAI processing") under any convention.</summary>
    public static bool IsLlmSpan(Span span) => GenAiSpanView.IsLlmSpan(span.Attributes);

    public static bool IsLlmSpan(RepeatedField<KeyValue> attributes) => GenAiSpanView.IsLlmSpan(attributes);

    /// <summary>Any GenAI-ish span (LLM, agent, tool, retrieval, framework) under any convention.</summary>
    public static bool IsGenAiSpan(Span span) => GenAiSpanView.Of(span.Attributes).IsGenAi;

    public static bool IsGenAiSpan(RepeatedField<KeyValue> attributes) => GenAiSpanView.Of(attributes).IsGenAi;

    /// <summary>The kind of operation a span performs, from the first operation key that is understood.</summary>
    public static OperationKind Operation(RepeatedField<KeyValue> attributes) => GenAiSpanView.OperationOf(attributes);

    /// <summary>True for the GenAI / Langtrace inference events (prompt, choice, messages, operation details).</summary>
    public static bool IsGenAiInferenceEvent(string eventName)
    {
        for (var i = 0; i < InferenceEventNames.Length; i++)
        {
            if (string.Equals(InferenceEventNames[i], eventName, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="key"/> belongs to any GenAI convention. The first character rejects most other keys at once.</summary>
    public static bool IsGenAiKey(string key)
    {
        if (key.Length == 0)
        {
            return false;
        }

        switch (key[0])
        {
            // First letters of GenAiKeyPrefixes; 'i' and 'o' also start GenAiExactKeys.
            case 'g' or 'l' or 't' or 'o' or 'e' or 'r':
                for (var i = 0; i < GenAiKeyPrefixes.Length; i++)
                {
                    if (key.StartsWith(GenAiKeyPrefixes[i], StringComparison.Ordinal))
                    {
                        return true;
                    }
                }

                break;
            case 'i':
                break;
            default:
                return false;
        }

        for (var i = 0; i < GenAiExactKeys.Length; i++)
        {
            if (string.Equals(key, GenAiExactKeys[i], StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>How "rich" a span is: the number of its attributes that belong to any GenAI convention.</summary>
    public static int GenAiAttributeCount(Span span)
    {
        var count = 0;
        var attributes = span.Attributes;
        for (var i = 0; i < attributes.Count; i++)
        {
            if (IsGenAiKey(attributes[i].Key))
            {
                count++;
            }
        }

        return count;
    }

    // ---- concept readers (any convention), all through GenAiSpanView -------------------------

    /// <inheritdoc cref="GenAiSpanView.Provider"/>
    public static string? Provider(Span span) => GenAiSpanView.Of(span.Attributes).Provider();

    /// <inheritdoc cref="GenAiSpanView.Model"/>
    public static string? Model(Span span) => GenAiSpanView.Of(span.Attributes).Model();

    public static long? InputTokens(Span span) => GenAiSpanView.Of(span.Attributes).InputTokens();

    public static long? OutputTokens(Span span) => GenAiSpanView.Of(span.Attributes).OutputTokens();

    /// <inheritdoc cref="GenAiSpanView.TotalTokens"/>
    public static long? TotalTokens(Span span) => GenAiSpanView.Of(span.Attributes).TotalTokens();

    /// <summary>Lowercase, trimmed; returns the input itself when it is already normal (no allocation).</summary>
    public static string NormalizeName(string value)
    {
        var trimmed = value.AsSpan().Trim();
        var normal = trimmed.Length == value.Length;
        for (var i = 0; normal && i < trimmed.Length; i++)
        {
            normal = !char.IsUpper(trimmed[i]);
        }

        return normal ? value : trimmed.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// A token count from an attribute value: int, integral double, or a numeric string
    /// (" 12 ", "12.0"). Negative, fractional, non-finite and non-numeric values are invalid.
    /// </summary>
    public static bool TryGetCount(AnyValue value, out long count)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.IntValue:
                count = value.IntValue;
                return count >= 0;
            case AnyValue.ValueOneofCase.DoubleValue:
                return TryIntegral(value.DoubleValue, out count);
            case AnyValue.ValueOneofCase.StringValue:
                var text = value.StringValue.AsSpan().Trim();
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out count))
                {
                    return count >= 0;
                }

                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                {
                    return TryIntegral(d, out count);
                }

                count = 0;
                return false;
            default:
                count = 0;
                return false;
        }
    }

    private static bool TryIntegral(double d, out long count)
    {
        // 2^53: beyond it doubles are not exact integers anyway; token counts never get there.
        if (double.IsFinite(d) && d >= 0 && d <= 9007199254740992d && Math.Floor(d) == d)
        {
            count = (long)d;
            return true;
        }

        count = 0;
        return false;
    }
}
