using Collector.GenAi;

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
/// Langtrace's own grouping of a span (<c>langtrace.service.type</c>): as the span states it, else
/// inferred from the other conventions' operation keys. Langtrace groups rerankers with vector
/// databases, which the shared <see cref="OperationKind"/> vocabulary does not, so the mapping
/// is Langtrace's; the values are read through <see cref="GenAiSpanView"/>.
/// </summary>
internal static class LangtraceServiceTypes
{
    public static LangtraceServiceType Of(in GenAiSpanView view)
    {
        if (view.Has(GenAiKey.LangtraceServiceType))
        {
            return view.Text(GenAiKey.LangtraceServiceType) switch
            {
                "llm" => LangtraceServiceType.Llm,
                "vectordb" => LangtraceServiceType.VectorDb,
                "framework" => LangtraceServiceType.Framework,
                _ => LangtraceServiceType.None,
            };
        }

        var fromOperation = view.Text(GenAiKey.OperationName) switch
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

        var fromOpenInference = view.Text(GenAiKey.OpenInferenceSpanKind)?.ToUpperInvariant() switch
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

        if (view.Has(GenAiKey.OpenLlmetryRequestType))
        {
            return LangtraceServiceType.Llm;
        }

        if (view.Text(GenAiKey.OpenLlmetrySpanKind) is "agent" or "tool" or "workflow" or "task")
        {
            return LangtraceServiceType.Framework;
        }

        // No classifying key, but usage or a model is only ever recorded on an LLM call.
        return view.Has(GenAiKey.InputTokens) || view.Has(GenAiKey.OutputTokens) || view.Has(GenAiKey.PromptTokens)
            || view.Has(GenAiKey.CompletionTokens) || view.Has(GenAiKey.OpenInferencePromptTokens)
            || view.Has(GenAiKey.RequestModel) || view.Has(GenAiKey.OpenInferenceModelName)
            ? LangtraceServiceType.Llm
            : LangtraceServiceType.None;
    }
}
