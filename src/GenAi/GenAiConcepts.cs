namespace Collector.GenAi;

/// <summary>The instrumentation conventions Collector recognises (docs/architecture.md "GenAI processing" columns).</summary>
[Flags]
internal enum GenAiConvention
{
    None = 0,
    OtelGenAi = 1,
    Langtrace = 2,
    OpenLlmetry = 4,
    OpenInference = 8,
}

/// <summary>One thing several conventions say about an LLM call (docs/architecture.md "GenAI processing" rows).</summary>
internal enum GenAiConcept
{
    Provider,
    RequestModel,
    ResponseModel,
    InputTokens,
    OutputTokens,
    TotalTokens,
    Operation,
    Prompt,
    Completion,
}

/// <summary>How a concept's value is stored under a key.</summary>
internal enum ConceptKeyForm
{
    /// <summary>A plain span attribute.</summary>
    Attribute,

    /// <summary>
    /// Indexed message attributes: <c>{Key}{i}.{sub-key}</c> (OpenLLMetry <c>gen_ai.prompt.0.role</c>) or,
    /// with <see cref="ConceptKey.IndexSuffix"/>, <c>{Key}{i}{IndexSuffix}{sub-key}</c>
    /// (OpenInference <c>llm.input_messages.0.message.role</c>).
    /// </summary>
    IndexedMessages,

    /// <summary>An attribute <see cref="ConceptKey.EventAttribute"/> on span events named <see cref="ConceptKey.Key"/>.</summary>
    SpanEvent,
}

/// <summary>Kind of value a concept holds; decides how values are parsed and compared.</summary>
internal enum ConceptValueKind
{
    /// <summary>Provider or model name: compared case-insensitively after trimming.</summary>
    Name,

    /// <summary>Non-negative integer; numeric strings and integral doubles accepted.</summary>
    Count,

    /// <summary>Span kind / operation in a convention's vocabulary, see <see cref="GenAiOperation"/>.</summary>
    Operation,

    /// <summary>A message list in one of the message forms, see <see cref="MessageJson"/> and <see cref="IndexedMessageForm"/>.</summary>
    Messages,
}

/// <summary>One key under which a convention stores a concept.</summary>
/// <param name="Key">Attribute key, indexed prefix (ending in '.') or event name.</param>
/// <param name="Conventions">Conventions that use this key (several share e.g. <c>gen_ai.system</c>).</param>
/// <param name="Form">How the value is stored.</param>
/// <param name="IndexSuffix">For OpenInference indexed messages: the part between index and sub-key (<c>.message.</c>).</param>
/// <param name="EventAttribute">For <see cref="ConceptKeyForm.SpanEvent"/>: the event attribute holding the value.</param>
/// <param name="OnlyOnLlmSpans">The key means this concept only on LLM spans (<c>langtrace.service.name</c> is a provider only there).</param>
internal sealed record ConceptKey(
    string Key,
    GenAiConvention Conventions,
    ConceptKeyForm Form = ConceptKeyForm.Attribute,
    string? IndexSuffix = null,
    string? EventAttribute = null,
    bool OnlyOnLlmSpans = false);

/// <summary>A concept and every key of every convention that carries it, in precedence order.</summary>
/// <param name="Concept">The concept.</param>
/// <param name="Name">snake_case name used in conflict records and metric labels.</param>
/// <param name="Kind">How values are parsed and compared.</param>
/// <param name="Keys">All keys; the first ones are the most authoritative (current OTel before legacy forms).</param>
internal sealed record ConceptDescriptor(GenAiConcept Concept, string Name, ConceptValueKind Kind, ConceptKey[] Keys);
