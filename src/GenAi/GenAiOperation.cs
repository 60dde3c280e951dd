namespace Collector.GenAi;

/// <summary>
/// Operation / span kind in one vocabulary shared by all conventions. <see cref="Llm"/> and
/// <see cref="Framework"/> are the generic members of their family: a convention that only says
/// "llm" (Langtrace, OpenInference LLM) agrees with any specific LLM operation.
/// </summary>
internal enum OperationKind
{
    Unknown,
    Llm,
    Chat,
    TextCompletion,
    GenerateContent,
    Embeddings,
    Framework,
    Agent,
    Tool,
    Workflow,
    Rerank,
    Retrieval,
}

/// <summary>Parses and writes operation / span-kind values of each convention.</summary>
internal static class GenAiOperation
{
    public const string OtelKey = "gen_ai.operation.name";
    public const string LangtraceKey = "langtrace.service.type";
    public const string OpenLlmetryRequestTypeKey = "llm.request.type";
    public const string OpenLlmetrySpanKindKey = "traceloop.span.kind";
    public const string OpenInferenceKey = "openinference.span.kind";

    /// <summary>Maps <paramref name="value"/> found under <paramref name="key"/> (one of the operation keys) to the shared vocabulary.</summary>
    public static OperationKind Parse(string key, string value)
    {
        var v = value.AsSpan().Trim();
        switch (key)
        {
            case OtelKey:
                return Match(v, "chat") ? OperationKind.Chat
                    : Match(v, "text_completion") ? OperationKind.TextCompletion
                    : Match(v, "generate_content") ? OperationKind.GenerateContent
                    : Match(v, "embeddings") ? OperationKind.Embeddings
                    : Match(v, "invoke_agent") || Match(v, "create_agent") ? OperationKind.Agent
                    : Match(v, "execute_tool") ? OperationKind.Tool
                    : Match(v, "retrieval") ? OperationKind.Retrieval
                    : OperationKind.Unknown;
            case LangtraceKey:
                return Match(v, "llm") ? OperationKind.Llm
                    : Match(v, "vectordb") ? OperationKind.Retrieval
                    : Match(v, "framework") ? OperationKind.Framework
                    : OperationKind.Unknown;
            case OpenLlmetryRequestTypeKey:
                // Any llm.request.type marks an LLM span (docs/architecture.md "GenAI processing"); known values are more specific.
                return Match(v, "chat") ? OperationKind.Chat
                    : Match(v, "completion") ? OperationKind.TextCompletion
                    : Match(v, "embedding") || Match(v, "embeddings") ? OperationKind.Embeddings
                    : Match(v, "rerank") ? OperationKind.Rerank
                    : OperationKind.Llm;
            case OpenLlmetrySpanKindKey:
                return Match(v, "agent") ? OperationKind.Agent
                    : Match(v, "tool") ? OperationKind.Tool
                    : Match(v, "workflow") || Match(v, "task") ? OperationKind.Workflow
                    : OperationKind.Unknown;
            case OpenInferenceKey:
                return Match(v, "llm") ? OperationKind.Llm
                    : Match(v, "embedding") ? OperationKind.Embeddings
                    : Match(v, "agent") ? OperationKind.Agent
                    : Match(v, "tool") ? OperationKind.Tool
                    : Match(v, "retriever") ? OperationKind.Retrieval
                    : Match(v, "reranker") ? OperationKind.Rerank
                    : Match(v, "chain") ? OperationKind.Workflow
                    : OperationKind.Unknown;
            default:
                return OperationKind.Unknown;
        }
    }

    public static bool IsLlm(OperationKind kind) =>
        kind is OperationKind.Llm or OperationKind.Chat or OperationKind.TextCompletion or OperationKind.GenerateContent or OperationKind.Embeddings;

    private static bool IsFramework(OperationKind kind) =>
        kind is OperationKind.Framework or OperationKind.Agent or OperationKind.Tool or OperationKind.Workflow or OperationKind.Rerank;

    /// <summary>Two kinds describe the same span when equal, or one is the generic member of the other's family.</summary>
    public static bool Compatible(OperationKind a, OperationKind b)
    {
        if (a == b)
        {
            return true;
        }

        if (IsLlm(a) && IsLlm(b))
        {
            return a == OperationKind.Llm || b == OperationKind.Llm;
        }

        return IsFramework(a) && IsFramework(b) && (a == OperationKind.Framework || b == OperationKind.Framework);
    }

    /// <summary>Of two compatible kinds, the more specific one.</summary>
    public static OperationKind MoreSpecific(OperationKind a, OperationKind b) =>
        a is OperationKind.Llm or OperationKind.Framework or OperationKind.Unknown ? b : a;

    /// <summary>The <c>gen_ai.operation.name</c> value, or null when OTel GenAI has none for the kind. A generic LLM call is written as <c>chat</c>.</summary>
    public static string? ToOtel(OperationKind kind) => kind switch
    {
        OperationKind.Llm or OperationKind.Chat => "chat",
        OperationKind.TextCompletion => "text_completion",
        OperationKind.GenerateContent => "generate_content",
        OperationKind.Embeddings => "embeddings",
        OperationKind.Agent => "invoke_agent",
        OperationKind.Tool => "execute_tool",
        OperationKind.Retrieval => "retrieval",
        _ => null,
    };

    /// <summary>The <c>langtrace.service.type</c> value (<c>llm</c> | <c>vectordb</c> | <c>framework</c>).</summary>
    public static string? ToLangtrace(OperationKind kind) =>
        IsLlm(kind) ? "llm"
        : kind == OperationKind.Retrieval ? "vectordb"
        : IsFramework(kind) ? "framework"
        : null;

    private static bool Match(ReadOnlySpan<char> value, string expected) =>
        value.Equals(expected, StringComparison.OrdinalIgnoreCase);
}
