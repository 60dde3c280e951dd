using System.Globalization;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Langtrace;

/// <summary>langtrace.service.type values Langtrace's UI groups spans by.</summary>
internal enum LangtraceServiceType
{
    None,
    Llm,
    VectorDb,
    Framework,
}

/// <summary>
/// What one span says about an LLM call, under whichever convention produced it (OTel GenAI,
/// Langtrace, OpenLLMetry, OpenInference; docs/architecture.md "GenAI processing"), found in one pass over its
/// attributes without allocating: each field is the index of the attribute carrying it, or -1.
/// The encoder uses it to add what Langtrace's UI and cost queries read and the span lacks.
/// </summary>
internal struct LlmSpanFacts
{
    // Indexes into the span's attributes (-1: absent).
    public int ServiceType;
    public int ServiceName;
    public int GenAiSystem;
    public int ProviderName;
    public int LlmProvider;
    public int LlmSystem;
    public int OperationName;
    public int LlmRequestType;
    public int OpenInferenceKind;
    public int TraceloopKind;
    public int RequestModel;
    public int ResponseModel;
    public int LlmModel;
    public int LlmModelName;
    public int InputTokens;
    public int OutputTokens;
    public int PromptTokens;
    public int CompletionTokens;
    public int TotalTokens;
    public int RequestTotalTokens;
    public int LlmTokenCounts;
    public int LlmUsageTotalTokens;
    public int OiPromptTokens;
    public int OiCompletionTokens;
    public int OiTotalTokens;
    public int InputMessages;
    public int OutputMessages;
    public int PromptText;
    public int CompletionText;
    public bool IndexedPrompt;
    public bool IndexedCompletion;
    public bool OiInputMessages;
    public bool OiOutputMessages;
    public bool HasPromptEvent;
    public bool HasCompletionEvent;

    public const string PromptEventName = "gen_ai.content.prompt";
    public const string CompletionEventName = "gen_ai.content.completion";
    public const string IndexedPromptPrefix = "gen_ai.prompt.";
    public const string IndexedCompletionPrefix = "gen_ai.completion.";
    public const string OiInputPrefix = "llm.input_messages.";
    public const string OiOutputPrefix = "llm.output_messages.";

    public static LlmSpanFacts Of(Span span)
    {
        var f = new LlmSpanFacts
        {
            ServiceType = -1, ServiceName = -1, GenAiSystem = -1, ProviderName = -1, LlmProvider = -1, LlmSystem = -1,
            OperationName = -1, LlmRequestType = -1, OpenInferenceKind = -1, TraceloopKind = -1,
            RequestModel = -1, ResponseModel = -1, LlmModel = -1, LlmModelName = -1,
            InputTokens = -1, OutputTokens = -1, PromptTokens = -1, CompletionTokens = -1, TotalTokens = -1,
            RequestTotalTokens = -1, LlmTokenCounts = -1, LlmUsageTotalTokens = -1,
            OiPromptTokens = -1, OiCompletionTokens = -1, OiTotalTokens = -1,
            InputMessages = -1, OutputMessages = -1, PromptText = -1, CompletionText = -1,
        };

        var attributes = span.Attributes;
        for (var i = 0; i < attributes.Count; i++)
        {
            f.Note(attributes[i].Key, i);
        }

        var events = span.Events;
        for (var i = 0; i < events.Count; i++)
        {
            var name = events[i].Name;
            f.HasPromptEvent |= name == PromptEventName;
            f.HasCompletionEvent |= name == CompletionEventName;
        }

        return f;
    }

    /// <summary>The span's type for Langtrace: as the span states it, else inferred from any convention.</summary>
    public readonly LangtraceServiceType Type(RepeatedField<KeyValue> a)
    {
        if (ServiceType >= 0)
        {
            return Text(a, ServiceType) switch
            {
                "llm" => LangtraceServiceType.Llm,
                "vectordb" => LangtraceServiceType.VectorDb,
                "framework" => LangtraceServiceType.Framework,
                _ => LangtraceServiceType.None,
            };
        }

        var fromOperation = Text(a, OperationName) switch
        {
            "chat" or "text_completion" or "generate_content" or "embeddings" => LangtraceServiceType.Llm,
            "retrieval" => LangtraceServiceType.VectorDb,
            "invoke_agent" or "create_agent" or "execute_tool" => LangtraceServiceType.Framework,
            _ => LangtraceServiceType.None,
        };
        if (fromOperation != LangtraceServiceType.None)
        {
            return fromOperation;
        }

        var fromOpenInference = Text(a, OpenInferenceKind)?.ToUpperInvariant() switch
        {
            "LLM" or "EMBEDDING" => LangtraceServiceType.Llm,
            "RETRIEVER" or "RERANKER" => LangtraceServiceType.VectorDb,
            "AGENT" or "TOOL" or "CHAIN" => LangtraceServiceType.Framework,
            _ => LangtraceServiceType.None,
        };
        if (fromOpenInference != LangtraceServiceType.None)
        {
            return fromOpenInference;
        }

        if (LlmRequestType >= 0)
        {
            return LangtraceServiceType.Llm;
        }

        if (Text(a, TraceloopKind) is "agent" or "tool" or "workflow" or "task")
        {
            return LangtraceServiceType.Framework;
        }

        // No classifying key, but usage or a model is only ever recorded on an LLM call.
        return InputTokens >= 0 || OutputTokens >= 0 || PromptTokens >= 0 || CompletionTokens >= 0
            || OiPromptTokens >= 0 || RequestModel >= 0 || LlmModelName >= 0
            ? LangtraceServiceType.Llm
            : LangtraceServiceType.None;
    }

    /// <summary>The provider as any convention names it (first found in docs/architecture.md "GenAI processing"'s order).</summary>
    public readonly string? Provider(RepeatedField<KeyValue> a) =>
        Text(a, GenAiSystem) ?? Text(a, ProviderName) ?? Text(a, LlmProvider) ?? Text(a, LlmSystem);

    /// <summary>The model, request model preferred (it is what Langtrace's price tables are keyed by).</summary>
    public readonly string? Model(RepeatedField<KeyValue> a) =>
        Text(a, RequestModel) ?? Text(a, ResponseModel) ?? Text(a, LlmModelName) ?? Text(a, LlmModel);

    /// <summary>A non-empty string value at <paramref name="index"/>, or null.</summary>
    public static string? Text(RepeatedField<KeyValue> a, int index) =>
        index >= 0 && a[index].Value is { ValueCase: AnyValue.ValueOneofCase.StringValue, StringValue: { Length: > 0 } s } ? s : null;

    /// <summary>A token count at <paramref name="index"/>: int, integral double or numeric string.</summary>
    public static long? Count(RepeatedField<KeyValue> a, int index)
    {
        if (index < 0 || a[index].Value is not { } v)
        {
            return null;
        }

        return v.ValueCase switch
        {
            AnyValue.ValueOneofCase.IntValue => v.IntValue,
            AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(v.DoubleValue) && v.DoubleValue == Math.Floor(v.DoubleValue)
                && Math.Abs(v.DoubleValue) < 9e15 => (long)v.DoubleValue,
            AnyValue.ValueOneofCase.StringValue when long.TryParse(v.StringValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
            _ => null,
        };
    }

    /// <summary>The index in "prefix{i}.rest", or -1 when <paramref name="key"/> does not have that shape.</summary>
    public static int IndexAfter(string key, string prefix, out int restStart)
    {
        restStart = -1;
        var i = prefix.Length;
        var index = 0;
        while (i < key.Length && char.IsAsciiDigit(key[i]) && index < 100_000)
        {
            index = (index * 10) + (key[i] - '0');
            i++;
        }

        if (i == prefix.Length || i >= key.Length - 1 || key[i] != '.')
        {
            return -1;
        }

        restStart = i + 1;
        return index;
    }

    private void Note(string key, int i)
    {
        switch (key)
        {
            case "langtrace.service.type": ServiceType = i; return;
            case "langtrace.service.name": ServiceName = i; return;
            case "gen_ai.system": GenAiSystem = i; return;
            case "gen_ai.provider.name": ProviderName = i; return;
            case "llm.provider": LlmProvider = i; return;
            case "llm.system": LlmSystem = i; return;
            case "gen_ai.operation.name": OperationName = i; return;
            case "llm.request.type": LlmRequestType = i; return;
            case "openinference.span.kind": OpenInferenceKind = i; return;
            case "traceloop.span.kind": TraceloopKind = i; return;
            case "gen_ai.request.model": RequestModel = i; return;
            case "gen_ai.response.model": ResponseModel = i; return;
            case "llm.model": LlmModel = i; return;
            case "llm.model_name": LlmModelName = i; return;
            case "gen_ai.usage.input_tokens": InputTokens = i; return;
            case "gen_ai.usage.output_tokens": OutputTokens = i; return;
            case "gen_ai.usage.prompt_tokens": PromptTokens = i; return;
            case "gen_ai.usage.completion_tokens": CompletionTokens = i; return;
            case "gen_ai.usage.total_tokens": TotalTokens = i; return;
            case "gen_ai.request.total_tokens": RequestTotalTokens = i; return;
            case "llm.token.counts": LlmTokenCounts = i; return;
            case "llm.usage.total_tokens": LlmUsageTotalTokens = i; return;
            case "llm.token_count.prompt": OiPromptTokens = i; return;
            case "llm.token_count.completion": OiCompletionTokens = i; return;
            case "llm.token_count.total": OiTotalTokens = i; return;
            case "gen_ai.input.messages": InputMessages = i; return;
            case "gen_ai.output.messages": OutputMessages = i; return;
            case "gen_ai.prompt": PromptText = i; return;
            case "gen_ai.completion": CompletionText = i; return;
        }

        // Indexed message forms; only their presence matters here, the encoder collects them when needed.
        if (key.StartsWith(IndexedPromptPrefix, StringComparison.Ordinal))
        {
            IndexedPrompt |= IndexAfter(key, IndexedPromptPrefix, out _) >= 0;
        }
        else if (key.StartsWith(IndexedCompletionPrefix, StringComparison.Ordinal))
        {
            IndexedCompletion |= IndexAfter(key, IndexedCompletionPrefix, out _) >= 0;
        }
        else if (key.StartsWith(OiInputPrefix, StringComparison.Ordinal))
        {
            OiInputMessages |= IndexAfter(key, OiInputPrefix, out _) >= 0;
        }
        else if (key.StartsWith(OiOutputPrefix, StringComparison.Ordinal))
        {
            OiOutputMessages |= IndexAfter(key, OiOutputPrefix, out _) >= 0;
        }
    }
}
