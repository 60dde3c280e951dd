using Collector.GenAi;
using Collector.Pipeline.Otlp;
using OpenTelemetry.Proto.Common.V1;
using static Collector.Tests.AiProcessing.AiTestData;

namespace Collector.Tests.AiProcessing.GenAi;

public sealed class GenAiConventionsTests
{
    [TestCase("gen_ai.operation.name", "chat", true)]
    [TestCase("gen_ai.operation.name", "text_completion", true)]
    [TestCase("gen_ai.operation.name", "generate_content", true)]
    [TestCase("gen_ai.operation.name", "embeddings", true)]
    [TestCase("gen_ai.operation.name", "execute_tool", false)]
    [TestCase("langtrace.service.type", "llm", true)]
    [TestCase("langtrace.service.type", "framework", false)]
    [TestCase("llm.request.type", "chat", true)]
    [TestCase("llm.request.type", "anything", true)]
    [TestCase("openinference.span.kind", "LLM", true)]
    [TestCase("openinference.span.kind", "EMBEDDING", true)]
    [TestCase("openinference.span.kind", "llm", true)]
    [TestCase("openinference.span.kind", "CHAIN", false)]
    [TestCase("traceloop.span.kind", "tool", false)]
    public void Is_llm_span_follows_every_convention(string key, string value, bool expected)
    {
        Assert.That(GenAiConventions.IsLlmSpan(SpanWith((key, value))), Is.EqualTo(expected));
    }

    [TestCase("gen_ai.operation.name", "invoke_agent")]
    [TestCase("gen_ai.operation.name", "execute_tool")]
    [TestCase("gen_ai.operation.name", "retrieval")]
    [TestCase("langtrace.service.type", "vectordb")]
    [TestCase("langtrace.service.type", "framework")]
    [TestCase("traceloop.span.kind", "workflow")]
    [TestCase("openinference.span.kind", "RERANKER")]
    [TestCase("gen_ai.system", "openai")]
    public void Is_genai_span_covers_agents_tools_and_retrieval(string key, string value)
    {
        Assert.That(GenAiConventions.IsGenAiSpan(SpanWith((key, value))), Is.True);
        Assert.That(GenAiConventions.IsGenAiSpan(SpanWith(("http.method", "GET"))), Is.False);
    }

    [Test]
    public void Operation_is_the_most_specific_of_the_agreeing_kinds()
    {
        Assert.That(GenAiConventions.Operation(SpanWith(("langtrace.service.type", "llm"), ("llm.request.type", "embedding")).Attributes), Is.EqualTo(OperationKind.Embeddings));
        Assert.That(GenAiConventions.Operation(SpanWith(("openinference.span.kind", "AGENT")).Attributes), Is.EqualTo(OperationKind.Agent));
        Assert.That(GenAiConventions.Operation(SpanWith(("gen_ai.operation.name", "chat"), ("openinference.span.kind", "TOOL")).Attributes), Is.EqualTo(OperationKind.Chat), "on disagreement the first key wins");
        Assert.That(GenAiConventions.Operation(SpanWith(("http.method", "GET")).Attributes), Is.EqualTo(OperationKind.Unknown));
    }

    [TestCase("gen_ai.provider.name", " OpenAI ", "openai")]
    [TestCase("gen_ai.system", "Anthropic", "anthropic")]
    [TestCase("llm.provider", "azure", "azure")]
    [TestCase("llm.system", "OPENAI", "openai")]
    public void Provider_is_read_from_any_convention_and_normalised(string key, string value, string expected)
    {
        Assert.That(GenAiConventions.Provider(SpanWith((key, value))), Is.EqualTo(expected));
    }

    [Test]
    public void Provider_prefers_current_otel_and_reads_langtrace_service_name_only_on_llm_spans()
    {
        Assert.That(GenAiConventions.Provider(SpanWith(("gen_ai.system", "a"), ("gen_ai.provider.name", "b"))), Is.EqualTo("b"));
        Assert.That(GenAiConventions.Provider(SpanWith(("langtrace.service.type", "llm"), ("langtrace.service.name", "OpenAI"))), Is.EqualTo("openai"));
        Assert.That(GenAiConventions.Provider(SpanWith(("langtrace.service.type", "framework"), ("langtrace.service.name", "langchain"))), Is.Null);
    }

    [Test]
    public void Model_prefers_the_request_model_then_falls_back_to_the_response_model()
    {
        Assert.That(GenAiConventions.Model(SpanWith(("gen_ai.response.model", "gpt-4o-2024"), ("gen_ai.request.model", "GPT-4o"))), Is.EqualTo("gpt-4o"));
        Assert.That(GenAiConventions.Model(SpanWith(("llm.model", "gpt-3.5"))), Is.EqualTo("gpt-3.5"));
        Assert.That(GenAiConventions.Model(SpanWith(("llm.model_name", "mistral-large"))), Is.EqualTo("mistral-large"));
        Assert.That(GenAiConventions.Model(SpanWith(("gen_ai.response.model", "gpt-4o-2024"))), Is.EqualTo("gpt-4o-2024"));
        Assert.That(GenAiConventions.Model(SpanWith(("gen_ai.request.model", "  "))), Is.Null);
    }

    [Test]
    public void Token_counts_are_read_from_any_convention_and_any_numeric_form()
    {
        Assert.That(GenAiConventions.InputTokens(SpanWith(("gen_ai.usage.input_tokens", 5L))), Is.EqualTo(5));
        Assert.That(GenAiConventions.InputTokens(SpanWith(("gen_ai.usage.prompt_tokens", "6"))), Is.EqualTo(6));
        Assert.That(GenAiConventions.InputTokens(SpanWith(("llm.token_count.prompt", 7.0))), Is.EqualTo(7));
        Assert.That(GenAiConventions.OutputTokens(SpanWith(("gen_ai.usage.completion_tokens", 8L))), Is.EqualTo(8));
        Assert.That(GenAiConventions.OutputTokens(SpanWith(("llm.token_count.completion", 9L))), Is.EqualTo(9));
        Assert.That(GenAiConventions.TotalTokens(SpanWith(("llm.usage.total_tokens", 10L))), Is.EqualTo(10));
        Assert.That(GenAiConventions.TotalTokens(SpanWith(("llm.token_count.total", "11"))), Is.EqualTo(11));
        Assert.That(GenAiConventions.TotalTokens(SpanWith(("gen_ai.usage.input_tokens", 3L), ("gen_ai.usage.output_tokens", 4L))), Is.EqualTo(7));
        Assert.That(GenAiConventions.TotalTokens(SpanWith(("gen_ai.usage.input_tokens", 3L))), Is.EqualTo(3));
        Assert.That(GenAiConventions.TotalTokens(SpanWith(("http.method", "GET"))), Is.Null);
    }

    [Test]
    public void Invalid_token_values_are_skipped_for_the_next_key()
    {
        Assert.That(GenAiConventions.InputTokens(SpanWith(("gen_ai.usage.input_tokens", "many"), ("llm.token_count.prompt", 4L))), Is.EqualTo(4));

        foreach (var garbage in new object[] { "abc", "", -1L, 1.5, double.NaN, double.PositiveInfinity, true, "1e400" })
        {
            Assert.That(GenAiConventions.TryGetCount(Value(garbage), out _), Is.False, $"{garbage}");
        }

        Assert.That(GenAiConventions.TryGetCount(new AnyValue(), out _), Is.False);
        Assert.That(GenAiConventions.TryGetCount(Value("1.2e3"), out var parsed) && parsed == 1200, Is.True);
    }

    [Test]
    public void Genai_attribute_count_counts_keys_of_every_convention()
    {
        var span = SpanWith(
            ("gen_ai.system", "openai"), ("llm.model_name", "x"), ("langtrace.service.type", "llm"), ("traceloop.span.kind", "task"),
            ("openinference.span.kind", "LLM"), ("input.value", "hi"), ("http.method", "POST"), ("service.version", "1"));

        Assert.That(GenAiConventions.GenAiAttributeCount(span), Is.EqualTo(6));
    }

    [TestCase("gen_ai.user.message", true)]
    [TestCase("gen_ai.system.message", true)]
    [TestCase("gen_ai.assistant.message", true)]
    [TestCase("gen_ai.tool.message", true)]
    [TestCase("gen_ai.choice", true)]
    [TestCase("gen_ai.client.inference.operation.details", true)]
    [TestCase("gen_ai.content.prompt", true)]
    [TestCase("gen_ai.content.completion", true)]
    [TestCase("tool_use", false)]
    [TestCase("exception", false)]
    public void Inference_events_are_recognised(string name, bool expected)
    {
        Assert.That(GenAiConventions.IsGenAiInferenceEvent(name), Is.EqualTo(expected));
    }

    [Test]
    public void Attribute_helpers_find_set_and_remove()
    {
        var span = SpanWith(("a", "1"), ("b", 2L));

        Assert.That(OtlpAttributes.Find(span.Attributes, "b")!.IntValue, Is.EqualTo(2));
        Assert.That(OtlpAttributes.FindString(span.Attributes, "b"), Is.Null, "not a string");
        OtlpAttributes.SetString(span.Attributes, "a", "x");
        OtlpAttributes.SetInt(span.Attributes, "c", 3);
        Assert.That(OtlpAttributes.Remove(span.Attributes, "b"), Is.True);
        Assert.That(OtlpAttributes.Remove(span.Attributes, "b"), Is.False);

        Assert.That(Keys(span), Is.EqualTo(new[] { "a", "c" }));
        Assert.That(GetString(span, "a"), Is.EqualTo("x"));
    }

    [Test]
    public void Lookups_allocate_nothing()
    {
        var span = SpanWith(
            ("openinference.span.kind", "LLM"), ("llm.provider", "openai"), ("llm.model_name", "gpt-4o"),
            ("llm.token_count.prompt", 3L), ("llm.token_count.completion", "4"), ("http.method", "POST"));
        var sum = 0L;
        for (var i = 0; i < 10; i++)
        {
            sum += Read(span);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            sum += Read(span);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(sum, Is.EqualTo(1010 * 10));

        static long Read(OpenTelemetry.Proto.Trace.V1.Span span)
        {
            var n = GenAiConventions.IsLlmSpan(span) ? 1 : 0;
            n += GenAiConventions.IsGenAiSpan(span) ? 1 : 0;
            n += GenAiConventions.Provider(span)!.Length - 6;
            n += GenAiConventions.Model(span)!.Length - 6;
            n += (int)GenAiConventions.TotalTokens(span)!.Value;
            n += GenAiConventions.GenAiAttributeCount(span) - 5;
            n += GenAiConventions.IsGenAiInferenceEvent("gen_ai.choice") ? 1 : 0;
            return n;
        }
    }
}
