using System.Buffers;
using System.Text.Json.Nodes;
using Collector.Exporters.Langtrace;
using Collector.GenAi;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.AiTestData;

namespace Collector.Tests.AiProcessing.GenAi;

/// <summary>
/// "Which provider / model / tokens / operation / messages does this span carry", answered once
/// (<see cref="GenAiSpanView"/>) for every convention, and the answers the processors' reader and
/// the langtrace exporter used to disagree on, each checked on both sides.
/// </summary>
public sealed class GenAiSpanViewTests
{
    /// <summary>One span per convention and what it carries.</summary>
    private sealed record ConventionCase(
        string Convention,
        (string Key, object Value)[] Attributes,
        string Provider,
        string Model,
        long Input,
        long Output,
        long Total,
        OperationKind Operation,
        string PromptText,
        string CompletionText);

    private static readonly ConventionCase[] Conventions =
    [
        new("OTel GenAI",
            [
                ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "OpenAI"), ("gen_ai.request.model", "gpt-4o"),
                ("gen_ai.response.model", "gpt-4o-2024-08-06"), ("gen_ai.usage.input_tokens", 12L), ("gen_ai.usage.output_tokens", 3L),
                ("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]"""),
                ("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"text","content":"Hello"}],"finish_reason":"stop"}]"""),
            ],
            "openai", "gpt-4o", 12, 3, 15, OperationKind.Chat, "Hi", "Hello"),
        new("Langtrace",
            [
                ("langtrace.service.type", "llm"), ("langtrace.service.name", "Anthropic"), ("llm.model", "claude-3-5-sonnet"),
                ("gen_ai.usage.prompt_tokens", "20"), ("gen_ai.usage.completion_tokens", 5.0), ("gen_ai.usage.total_tokens", 25L),
                ("llm.prompts", """[{"role":"user","content":"2+2?"}]"""), ("llm.responses", """[{"role":"assistant","content":"4"}]"""),
            ],
            "anthropic", "claude-3-5-sonnet", 20, 5, 25, OperationKind.Llm, "2+2?", "4"),
        new("OpenLLMetry",
            [
                ("llm.request.type", "chat"), ("gen_ai.system", "Mistral_AI"), ("gen_ai.request.model", "mistral-large"),
                ("gen_ai.usage.prompt_tokens", 40L), ("gen_ai.usage.completion_tokens", 8L), ("llm.usage.total_tokens", 48L),
                ("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", "Weather?"),
                ("gen_ai.completion.0.role", "assistant"), ("gen_ai.completion.0.content", "Sunny"),
            ],
            "mistral_ai", "mistral-large", 40, 8, 48, OperationKind.Chat, "Weather?", "Sunny"),
        new("OpenInference",
            [
                ("openinference.span.kind", "LLM"), ("llm.provider", "azure"), ("llm.model_name", "GPT-4o-mini"),
                ("llm.token_count.prompt", 15L), ("llm.token_count.completion", 5L), ("llm.token_count.total", 20L),
                ("llm.input_messages.0.message.role", "user"), ("llm.input_messages.0.message.content", "Name?"),
                ("llm.output_messages.0.message.role", "assistant"), ("llm.output_messages.0.message.content", "Ada"),
            ],
            "azure", "gpt-4o-mini", 15, 5, 20, OperationKind.Llm, "Name?", "Ada"),
    ];

    private static IEnumerable<string> ConventionNames => Conventions.Select(c => c.Convention);

    [TestCaseSource(nameof(ConventionNames))]
    public void Every_convention_answers_provider_model_tokens_operation_and_messages(string convention)
    {
        var c = Conventions.Single(c => c.Convention == convention);
        var span = SpanWith(c.Attributes);
        var view = GenAiSpanView.Of(span);

        Assert.Multiple(() =>
        {
            Assert.That(view.IsLlm, Is.True, "an LLM span");
            Assert.That(view.IsGenAi, Is.True, "a GenAI span");
            Assert.That(view.Provider(), Is.EqualTo(c.Provider));
            Assert.That(view.Model(), Is.EqualTo(c.Model));
            Assert.That(view.InputTokens(), Is.EqualTo(c.Input));
            Assert.That(view.OutputTokens(), Is.EqualTo(c.Output));
            Assert.That(view.TotalTokens(), Is.EqualTo(c.Total));
            Assert.That(view.Operation(), Is.EqualTo(c.Operation));
            Assert.That(view.ReadMessages(span, GenAiConcept.Prompt)?.Single().Text(), Is.EqualTo(c.PromptText));
            Assert.That(view.ReadMessages(span, GenAiConcept.Completion)?.Single().Text(), Is.EqualTo(c.CompletionText));

            // The processors' readers are the same reader.
            Assert.That(GenAiConventions.Provider(span), Is.EqualTo(c.Provider));
            Assert.That(GenAiConventions.Model(span), Is.EqualTo(c.Model));
            Assert.That(GenAiConventions.TotalTokens(span), Is.EqualTo(c.Total));
            Assert.That(GenAiConventions.Operation(span.Attributes), Is.EqualTo(c.Operation));
        });
    }

    [Test]
    public void The_operation_only_reader_agrees_with_the_full_view()
    {
        string[] keys = ["gen_ai.operation.name", "langtrace.service.type", "llm.request.type", "traceloop.span.kind", "openinference.span.kind", "http.method"];
        string[] values = ["chat", "llm", "embeddings", "rerank", "framework", "agent", "tool", "LLM", "EMBEDDING", "RETRIEVER", "vectordb", "text_completion", "nonsense", ""];
        var random = new Random(13);
        for (var n = 0; n < 2000; n++)
        {
            var attributes = new (string Key, object Value)[random.Next(0, 5)];
            for (var i = 0; i < attributes.Length; i++)
            {
                attributes[i] = (keys[random.Next(keys.Length)], values[random.Next(values.Length)]);
            }

            var span = SpanWith(attributes);
            var full = GenAiSpanView.Of(span.Attributes);
            var shown = string.Join(", ", attributes.Select(a => $"{a.Key}={a.Value}"));
            Assert.That(GenAiSpanView.IsLlmSpan(span.Attributes), Is.EqualTo(full.IsLlm), shown);
            Assert.That(GenAiSpanView.OperationOf(span.Attributes), Is.EqualTo(full.Operation()), shown);
        }
    }

    [Test]
    public void The_langtrace_event_form_is_read_when_the_span_has_no_json_attribute()
    {
        var span = SpanWith(("langtrace.service.type", "llm"));
        var prompt = new Span.Types.Event { Name = "gen_ai.content.prompt" };
        prompt.Attributes.Add(new KeyValue { Key = "gen_ai.prompt", Value = Value("""[{"role":"user","content":"from the event"}]""") });
        span.Events.Add(prompt);

        var view = GenAiSpanView.Of(span);

        Assert.That(view.Has(GenAiMessageForms.PromptEvent), Is.True);
        Assert.That(view.ReadMessages(span, GenAiConcept.Prompt)!.Single().Text(), Is.EqualTo("from the event"));
        Assert.That(view.ReadMessages(span, GenAiConcept.Completion), Is.Null);
    }

    [Test]
    public void The_first_occurrence_of_a_repeated_key_wins_and_unknown_keys_are_ignored()
    {
        var view = GenAiSpanView.Of(SpanWith(("http.method", "GET"), ("gen_ai.request.model", "first"), ("gen_ai.request.model", "second")));

        Assert.That(view.IndexOf(GenAiKey.RequestModel), Is.EqualTo(1));
        Assert.That(view.Model(), Is.EqualTo("first"));
        Assert.That(view.Has(GenAiKey.ResponseModel), Is.False);
        Assert.That(view.IsLlm, Is.False);
        Assert.That(GenAiSpanView.Name(GenAiKey.LangtraceTokenCounts), Is.EqualTo("llm.token.counts"));
    }

    // ---- the disagreements (the processors' reader vs the langtrace exporter's former LlmSpanFacts) ----

    /// <summary>
    /// gen_ai.provider.name (current OTel) before the deprecated gen_ai.system: LlmSpanFacts read
    /// gen_ai.system first and said openai.
    /// </summary>
    [Test]
    public void Provider_is_gen_ai_provider_name_before_gen_ai_system_on_both_sides()
    {
        var span = SpanWith(("gen_ai.operation.name", "chat"), ("gen_ai.system", "openai"), ("gen_ai.provider.name", "azure.ai.openai"));

        Assert.That(GenAiConventions.Provider(span), Is.EqualTo("azure.ai.openai"));
        Assert.That(LangtraceText(span, "langtrace.service.name"), Is.EqualTo("azure"), "the vendor of azure.ai.openai");
    }

    /// <summary>
    /// Every convention's request-model key before the response model: LlmSpanFacts read
    /// gen_ai.response.model before llm.model and said gpt-4o-mini.
    /// </summary>
    [Test]
    public void Model_is_the_request_model_of_any_convention_before_the_response_model_on_both_sides()
    {
        var span = SpanWith(("llm.request.type", "chat"), ("gen_ai.response.model", "gpt-4o-mini"), ("llm.model", "gpt-4o"));

        Assert.That(GenAiConventions.Model(span), Is.EqualTo("gpt-4o"));
        Assert.That(LangtraceText(span, "gen_ai.request.model"), Is.EqualTo("gpt-4o"));
    }

    /// <summary>
    /// A negative count is no count (it would lower a cost): LlmSpanFacts accepted -5; the next key's
    /// valid count is used instead, and the unreadable key is not renamed onto input_tokens.
    /// </summary>
    [Test]
    public void A_negative_token_count_is_refused_on_both_sides()
    {
        var span = SpanWith(("llm.request.type", "chat"), ("gen_ai.usage.prompt_tokens", -5L), ("llm.token_count.prompt", 7L));

        Assert.That(GenAiConventions.InputTokens(span), Is.EqualTo(7));
        var sent = LangtraceAttributes(span);
        Assert.That(sent["gen_ai.usage.input_tokens"], Is.EqualTo("7"));
        Assert.That(sent["gen_ai.usage.prompt_tokens"], Is.EqualTo("-5"), "sent as it is, not as input_tokens");
        Assert.That(sent["gen_ai.usage.total_tokens"], Is.EqualTo("7"));
    }

    /// <summary>A count an SDK wrote as padded text is still the count: LlmSpanFacts refused " 12 ".</summary>
    [Test]
    public void A_padded_numeric_string_is_a_count_on_both_sides()
    {
        var span = SpanWith(("llm.request.type", "chat"), ("gen_ai.usage.completion_tokens", " 12 "), ("gen_ai.usage.input_tokens", 3L));

        Assert.That(GenAiConventions.OutputTokens(span), Is.EqualTo(12));
        var sent = LangtraceAttributes(span);
        Assert.That(sent["gen_ai.usage.output_tokens"], Is.EqualTo("12"));
        Assert.That(sent.ContainsKey("gen_ai.usage.completion_tokens"), Is.False, "travels as output_tokens");
        Assert.That(sent["gen_ai.usage.total_tokens"], Is.EqualTo("15"));
    }

    /// <summary>
    /// The exporter's prompt event for an indexed form is the GenAI module's Langtrace-shaped JSON:
    /// its former parser sent tool calls as flat "tool_calls.0.name" keys, which Langtrace's LLM
    /// view does not read as tool calls.
    /// </summary>
    [Test]
    public void Indexed_messages_reach_langtrace_as_the_modules_langtrace_message_json()
    {
        var span = SpanWith(
            ("llm.request.type", "chat"),
            ("gen_ai.completion.0.role", "assistant"), ("gen_ai.completion.0.finish_reason", "tool_calls"),
            ("gen_ai.completion.0.tool_calls.0.id", "call_1"), ("gen_ai.completion.0.tool_calls.0.name", "get_weather"),
            ("gen_ai.completion.0.tool_calls.0.arguments", """{"city":"Oslo"}"""), ("gen_ai.completion.0.seed", 7L));
        var resource = new ResourceSpans { Resource = new Resource() };
        resource.ScopeSpans.Add(new ScopeSpans { Spans = { span } });
        var body = new ArrayBufferWriter<byte>();
        new LangtraceJsonEncoder([]).Encode(resource, resource.ScopeSpans[0], body);

        var events = JsonNode.Parse(body.WrittenSpan)!["resourceSpans"]![0]!["scopeSpans"]![0]!["spans"]![0]!["events"]!.AsArray();
        var completion = events.Single(e => e!["name"]!.GetValue<string>() == "gen_ai.content.completion")!;
        var text = completion["attributes"]![0]!["value"]!["stringValue"]!.GetValue<string>();

        Assert.That(text, Is.EqualTo(
            """[{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}],"finish_reason":"tool_calls","attributes":{"seed":7}}]"""));
        Assert.That(MessageJson.TryParse(text)!.Single().Parts.Single().Name, Is.EqualTo("get_weather"), "reads back as a tool call");
    }

    [Test]
    public void Encoding_llm_spans_allocates_nothing_per_span()
    {
        // OTel GenAI spans with their messages as JSON text (nothing to rebuild) and names already
        // lowercase (a name is copied only to normalise it).
        var one = Resource(1);
        var many = Resource(50);
        var encoder = new LangtraceJsonEncoder(["service.name"]);
        var body = new ArrayBufferWriter<byte>(1 << 20);
        Encode(one);
        Encode(many);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Encode(one);
        var forOne = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        Encode(many);
        var forMany = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(forMany, Is.EqualTo(forOne), "the same per request, whatever the number of spans");

        void Encode(ResourceSpans resource)
        {
            body.ResetWrittenCount();
            encoder.Encode(resource, resource.ScopeSpans[0], body);
        }

        static ResourceSpans Resource(int spans)
        {
            var scope = new ScopeSpans();
            for (var i = 0; i < spans; i++)
            {
                scope.Spans.Add(SpanWith(
                    ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "azure.ai.openai"), ("gen_ai.request.model", "gpt-4o"),
                    ("gen_ai.usage.input_tokens", 12L), ("gen_ai.usage.output_tokens", 3L), ("temperature", 0.5),
                    ("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]""")));
            }

            var resource = new ResourceSpans { Resource = new Resource() };
            resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = Value("chat-app") });
            resource.ScopeSpans.Add(scope);
            return resource;
        }
    }

    /// <summary>The span's attributes as the langtrace exporter sends them: key -> stringValue or intValue text.</summary>
    private static Dictionary<string, string> LangtraceAttributes(Span span)
    {
        var resource = new ResourceSpans { Resource = new Resource() };
        resource.ScopeSpans.Add(new ScopeSpans { Spans = { span } });
        var body = new ArrayBufferWriter<byte>();
        new LangtraceJsonEncoder([]).Encode(resource, resource.ScopeSpans[0], body);

        var sent = JsonNode.Parse(body.WrittenSpan)!["resourceSpans"]![0]!["scopeSpans"]![0]!["spans"]![0]!["attributes"]!.AsArray();
        var result = new Dictionary<string, string>();
        foreach (var attribute in sent)
        {
            var value = attribute!["value"]!;
            result[attribute["key"]!.GetValue<string>()] = (value["stringValue"] ?? value["intValue"])!.GetValue<string>();
        }

        return result;
    }

    private static string? LangtraceText(Span span, string key) => LangtraceAttributes(span).GetValueOrDefault(key);
}
