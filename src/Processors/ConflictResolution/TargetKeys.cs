using Collector.GenAi;

namespace Collector.Processors.ConflictResolution;

/// <summary>
/// Where one target convention keeps each concept: a primary key plus mirror keys that the
/// target's readers also use (Langtrace reads <c>llm.model</c> beside <c>gen_ai.request.model</c>).
/// Mirrors count as target keys: they are filled, never removed.
/// </summary>
internal sealed class TargetKeys
{
    private readonly string[][] _scalarKeys;

    private TargetKeys(ConflictTarget target)
    {
        Target = target;
        var otel = target == ConflictTarget.OtelGenAi;
        _scalarKeys = new string[GenAiConventions.Concepts.Length][];
        _scalarKeys[(int)GenAiConcept.Provider] = otel
            ? [GenAiConventions.ProviderName]
            : [GenAiConventions.System, GenAiConventions.LangtraceServiceName];
        _scalarKeys[(int)GenAiConcept.RequestModel] = otel
            ? [GenAiConventions.RequestModel]
            : [GenAiConventions.RequestModel, GenAiConventions.LegacyLlmModel];
        _scalarKeys[(int)GenAiConcept.ResponseModel] = [GenAiConventions.ResponseModel];
        _scalarKeys[(int)GenAiConcept.InputTokens] = [GenAiConventions.InputTokensKey];
        _scalarKeys[(int)GenAiConcept.OutputTokens] = [GenAiConventions.OutputTokensKey];

        // Both targets carry the total under Langtrace's key: OTel GenAI defines none.
        _scalarKeys[(int)GenAiConcept.TotalTokens] = [GenAiConventions.TotalTokensKey];
        _scalarKeys[(int)GenAiConcept.Operation] = [otel ? GenAiOperation.OtelKey : GenAiOperation.LangtraceKey];
        _scalarKeys[(int)GenAiConcept.Prompt] = [otel ? GenAiConventions.InputMessages : GenAiConventions.LangtracePromptEvent];
        _scalarKeys[(int)GenAiConcept.Completion] = [otel ? GenAiConventions.OutputMessages : GenAiConventions.LangtraceCompletionEvent];
    }

    public static TargetKeys OtelGenAi { get; } = new(ConflictTarget.OtelGenAi);

    public static TargetKeys Langtrace { get; } = new(ConflictTarget.Langtrace);

    public ConflictTarget Target { get; }

    public static TargetKeys For(ConflictTarget target) => target == ConflictTarget.OtelGenAi ? OtelGenAi : Langtrace;

    /// <summary>Target keys of <paramref name="concept"/>, primary first.</summary>
    public string[] Of(GenAiConcept concept) => _scalarKeys[(int)concept];

    public bool IsTargetKey(GenAiConcept concept, string key)
    {
        var keys = _scalarKeys[(int)concept];
        for (var i = 0; i < keys.Length; i++)
        {
            if (string.Equals(keys[i], key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The operation value the target writes for <paramref name="kind"/>; null when it has none.</summary>
    public string? OperationValue(OperationKind kind) =>
        Target == ConflictTarget.OtelGenAi ? GenAiOperation.ToOtel(kind) : GenAiOperation.ToLangtrace(kind);

    /// <summary>Message JSON shape of the target.</summary>
    public MessageJsonShape MessageShape => Target == ConflictTarget.OtelGenAi ? MessageJsonShape.OtelGenAi : MessageJsonShape.Langtrace;
}
