using System.Text.Json;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Collector.Processors.ConflictResolution;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.AiTestData;

namespace Collector.Tests.AiProcessing.ConflictResolution;

public sealed class SpanNormalizerTests
{
    private const string ConflictsMetric = "collector_processor_conflict_resolution_conflicts_total";
    private const string SkippedMetric = "collector_processor_conflict_resolution_skipped_values_total";

    private SelfMetrics _metrics = null!;

    [SetUp]
    public void SetUp() => _metrics = new SelfMetrics();

    private SpanNormalizer Normalizer(ConflictTarget target = ConflictTarget.OtelGenAi, ConflictPreference prefer = ConflictPreference.Target, bool keep = false) =>
        new(new ConflictResolutionConfig { Target = target, Prefer = prefer, KeepSourceKeys = keep }, _metrics, "conflict_resolution");

    private double Conflicts(string concept) => _metrics.Read(ConflictsMetric, ("processor", "conflict_resolution"), ("concept", concept));

    private double Skipped(string concept) => _metrics.Read(SkippedMetric, ("processor", "conflict_resolution"), ("concept", concept));

    private static List<JsonElement> ConflictRecords(Span span)
    {
        var records = new List<JsonElement>();
        if (Get(span, SpanNormalizer.ConflictsAttribute) is { ValueCase: AnyValue.ValueOneofCase.ArrayValue } array)
        {
            foreach (var v in array.ArrayValue.Values)
            {
                records.Add(JsonDocument.Parse(v.StringValue).RootElement.Clone());
            }
        }

        return records;
    }

    // ---- each convention normalised to otel_genai -------------------------------------------------

    [Test]
    public void An_otel_genai_span_keeps_its_keys_and_gains_the_total()
    {
        var span = SpanWith(
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o"),
            ("gen_ai.response.model", "gpt-4o-2024-08-06"), ("gen_ai.usage.input_tokens", 10L), ("gen_ai.usage.output_tokens", 5L));
        var before = span.Clone();

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(15));
        span.Attributes.RemoveAt(span.Attributes.Count - 1);
        Assert.That(span, Is.EqualTo(before), "nothing else changed");
    }

    [Test]
    public void Langtrace_keys_become_otel_genai_keys()
    {
        var span = SpanWith(
            ("langtrace.service.type", "llm"), ("langtrace.service.name", "OpenAI"), ("gen_ai.system", "openai"),
            ("llm.model", "gpt-4o"), ("gen_ai.usage.prompt_tokens", 7L), ("gen_ai.usage.completion_tokens", 3L), ("gen_ai.usage.total_tokens", 10L));

        Assert.That(Normalizer().Normalize(span), Is.Zero, "OpenAI vs openai is the same provider");

        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(GetString(span, "gen_ai.provider.name"), Is.EqualTo("openai"));
        Assert.That(GetString(span, "gen_ai.request.model"), Is.EqualTo("gpt-4o"));
        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(7));
        Assert.That(GetInt(span, "gen_ai.usage.output_tokens"), Is.EqualTo(3));
        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(10));
        Assert.That(Keys(span), Is.EquivalentTo(new[]
        {
            "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
            "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.total_tokens",
        }));
    }

    [Test]
    public void OpenLlmetry_keys_and_indexed_prompts_become_otel_genai()
    {
        var span = SpanWith(
            ("llm.request.type", "chat"), ("gen_ai.system", "Anthropic"), ("gen_ai.request.model", "claude-3-5-sonnet"),
            ("gen_ai.usage.prompt_tokens", 20L), ("gen_ai.usage.completion_tokens", 4L), ("llm.usage.total_tokens", 24L),
            ("gen_ai.prompt.0.role", "system"), ("gen_ai.prompt.0.content", "Be brief."),
            ("gen_ai.prompt.1.role", "user"), ("gen_ai.prompt.1.content", "Capital of France?"),
            ("gen_ai.completion.0.role", "assistant"), ("gen_ai.completion.0.content", "Paris."), ("gen_ai.completion.0.finish_reason", "stop"));

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(GetString(span, "gen_ai.provider.name"), Is.EqualTo("anthropic"));
        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(24));
        Assert.That(GetString(span, "gen_ai.input.messages"), Is.EqualTo(
            """[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]"""));
        Assert.That(GetString(span, "gen_ai.output.messages"), Is.EqualTo(
            """[{"role":"assistant","parts":[{"type":"text","content":"Paris."}],"finish_reason":"stop"}]"""));
        Assert.That(Keys(span).FindAll(k => k.StartsWith("gen_ai.prompt.", StringComparison.Ordinal) || k.StartsWith("gen_ai.completion.", StringComparison.Ordinal)), Is.Empty);
        Assert.That(Keys(span), Does.Not.Contain("llm.request.type").And.Not.Contain("llm.usage.total_tokens").And.Not.Contain("gen_ai.system"));
    }

    [Test]
    public void OpenInference_keys_and_messages_with_tool_calls_become_otel_genai()
    {
        var span = SpanWith(
            ("openinference.span.kind", "LLM"), ("llm.provider", "openai"), ("llm.system", "openai"), ("llm.model_name", "gpt-4o-mini"),
            ("llm.token_count.prompt", 30L), ("llm.token_count.completion", 8L), ("llm.token_count.total", 38L),
            ("llm.input_messages.0.message.role", "user"), ("llm.input_messages.0.message.content", "Weather in Paris?"),
            ("llm.output_messages.0.message.role", "assistant"),
            ("llm.output_messages.0.message.tool_calls.0.tool_call.id", "call_1"),
            ("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "get_weather"),
            ("llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", "{\"city\":\"Paris\"}"),
            ("input.value", "Weather in Paris?"));

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(GetString(span, "gen_ai.provider.name"), Is.EqualTo("openai"));
        Assert.That(GetString(span, "gen_ai.request.model"), Is.EqualTo("gpt-4o-mini"));
        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(30));
        Assert.That(GetInt(span, "gen_ai.usage.output_tokens"), Is.EqualTo(8));
        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(38));
        Assert.That(GetString(span, "gen_ai.input.messages"), Is.EqualTo("""[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]"""));
        Assert.That(GetString(span, "gen_ai.output.messages"), Is.EqualTo(
            """[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]}]"""));
        Assert.That(GetString(span, "input.value"), Is.EqualTo("Weather in Paris?"), "generic payload keys are left alone");
        Assert.That(Keys(span).FindAll(k => k.StartsWith("llm.", StringComparison.Ordinal) || k.StartsWith("openinference.", StringComparison.Ordinal)), Is.Empty);
    }

    // ---- conflicts --------------------------------------------------------------------------------

    [TestCase(ConflictPreference.Target, 10)]
    [TestCase(ConflictPreference.Source, 12)]
    [TestCase(ConflictPreference.Max, 12)]
    public void Conflicting_input_tokens_are_resolved_by_prefer_recorded_and_counted(ConflictPreference prefer, long expected)
    {
        var span = SpanWith(("gen_ai.usage.input_tokens", 10L), ("llm.token_count.prompt", 12L), ("gen_ai.usage.output_tokens", 2L));

        Assert.That(Normalizer(prefer: prefer).Normalize(span), Is.EqualTo(1));

        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(expected));
        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(expected + 2), "total is filled from the resolved value");
        Assert.That(Get(span, "llm.token_count.prompt"), Is.Null);
        var record = ConflictRecords(span).Single();
        Assert.That(record.GetProperty("concept").GetString(), Is.EqualTo("input_tokens"));
        Assert.That(record.GetProperty("prefer").GetString(), Is.EqualTo(prefer.ToString().ToLowerInvariant()));
        var (chosenKey, rejectedKey) = expected == 10
            ? ("gen_ai.usage.input_tokens", "llm.token_count.prompt")
            : ("llm.token_count.prompt", "gen_ai.usage.input_tokens");
        Assert.That(record.GetProperty("chosen").GetProperty("key").GetString(), Is.EqualTo(chosenKey));
        Assert.That(record.GetProperty("chosen").GetProperty("value").GetInt64(), Is.EqualTo(expected));
        Assert.That(record.GetProperty("rejected").GetProperty("key").GetString(), Is.EqualTo(rejectedKey));
        Assert.That(record.GetProperty("rejected").GetProperty("value").GetInt64(), Is.EqualTo(expected == 10 ? 12 : 10));
        Assert.That(Conflicts("input_tokens"), Is.EqualTo(1));
    }

    [Test]
    public void Max_picks_the_larger_value_whichever_side_holds_it()
    {
        var span = SpanWith(("gen_ai.usage.output_tokens", 40L), ("gen_ai.usage.completion_tokens", 4L), ("llm.token_count.completion", 9L));

        Assert.That(Normalizer(prefer: ConflictPreference.Max).Normalize(span), Is.EqualTo(2));

        Assert.That(GetInt(span, "gen_ai.usage.output_tokens"), Is.EqualTo(40));
        Assert.That(Conflicts("output_tokens"), Is.EqualTo(2));
    }

    [Test]
    public void Without_a_target_value_the_first_source_in_precedence_order_wins_under_target()
    {
        var span = SpanWith(("gen_ai.usage.prompt_tokens", 5L), ("llm.token_count.prompt", 6L));

        Normalizer().Normalize(span);

        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(5));
        Assert.That(ConflictRecords(span).Single().GetProperty("rejected").GetProperty("key").GetString(), Is.EqualTo("llm.token_count.prompt"));
    }

    [TestCase(ConflictPreference.Target, "gpt-4o")]
    [TestCase(ConflictPreference.Source, "gpt-4o-mini")]
    [TestCase(ConflictPreference.Max, "gpt-4o")]
    public void Conflicting_models_follow_prefer_and_max_falls_back_to_target(ConflictPreference prefer, string expected)
    {
        var span = SpanWith(("gen_ai.request.model", "gpt-4o"), ("llm.model_name", "gpt-4o-mini"));

        Assert.That(Normalizer(prefer: prefer).Normalize(span), Is.EqualTo(1));

        Assert.That(GetString(span, "gen_ai.request.model"), Is.EqualTo(expected));
        var record = ConflictRecords(span).Single();
        Assert.That(record.GetProperty("concept").GetString(), Is.EqualTo("request_model"));
        Assert.That(record.GetProperty("rejected").GetProperty("value").GetString(), Is.EqualTo(expected == "gpt-4o" ? "gpt-4o-mini" : "gpt-4o"));
    }

    [Test]
    public void Conflicting_providers_are_compared_case_insensitively()
    {
        var same = SpanWith(("gen_ai.provider.name", "openai"), ("gen_ai.system", " OpenAI "), ("llm.provider", "OPENAI"));
        var different = SpanWith(("gen_ai.provider.name", "openai"), ("llm.provider", "azure"));

        Assert.That(Normalizer().Normalize(same), Is.Zero);
        Assert.That(Normalizer().Normalize(different), Is.EqualTo(1));

        Assert.That(Keys(same), Is.EqualTo(new[] { "gen_ai.provider.name" }));
        Assert.That(Conflicts("provider"), Is.EqualTo(1));
    }

    [Test]
    public void Langtrace_service_name_is_a_provider_only_on_llm_spans()
    {
        var framework = SpanWith(("langtrace.service.type", "framework"), ("langtrace.service.name", "langchain"), ("gen_ai.system", "openai"));

        Assert.That(Normalizer().Normalize(framework), Is.Zero);

        Assert.That(GetString(framework, "langtrace.service.name"), Is.EqualTo("langchain"));
        Assert.That(GetString(framework, "gen_ai.provider.name"), Is.EqualTo("openai"));
    }

    [Test]
    public void Under_langtrace_a_framework_service_name_is_not_a_provider_conflict()
    {
        var span = SpanWith(("langtrace.service.type", "framework"), ("langtrace.service.name", "langchain"), ("gen_ai.provider.name", "OpenAI"));

        Assert.That(Normalizer(ConflictTarget.Langtrace).Normalize(span), Is.Zero);

        Assert.That(GetString(span, "langtrace.service.name"), Is.EqualTo("langchain"));
        Assert.That(GetString(span, "gen_ai.system"), Is.EqualTo("openai"));
    }

    [Test]
    public void The_primary_provider_key_is_written_lowercase_and_a_mirror_keeps_an_agreeing_spelling()
    {
        var otel = SpanWith(("gen_ai.provider.name", " OpenAI"));
        var langtrace = SpanWith(("langtrace.service.type", "llm"), ("langtrace.service.name", "OpenAI"), ("gen_ai.system", "OpenAI"));

        Normalizer().Normalize(otel);
        Normalizer(ConflictTarget.Langtrace).Normalize(langtrace);

        Assert.That(GetString(otel, "gen_ai.provider.name"), Is.EqualTo("openai"));
        Assert.That(GetString(langtrace, "gen_ai.system"), Is.EqualTo("openai"));
        Assert.That(GetString(langtrace, "langtrace.service.name"), Is.EqualTo("OpenAI"));
    }

    [Test]
    public void Keep_source_keys_leaves_sources_in_place_and_still_writes_the_target()
    {
        var span = SpanWith(("llm.token_count.prompt", 12L), ("gen_ai.usage.prompt_tokens", 12L), ("gen_ai.system", "openai"),
            ("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", "hi"));

        Normalizer(keep: true).Normalize(span);

        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(12));
        Assert.That(GetString(span, "gen_ai.provider.name"), Is.EqualTo("openai"));
        Assert.That(GetString(span, "gen_ai.input.messages"), Is.Not.Null);
        Assert.That(Keys(span), Is.SupersetOf(new[] { "llm.token_count.prompt", "gen_ai.usage.prompt_tokens", "gen_ai.system", "gen_ai.prompt.0.role", "gen_ai.prompt.0.content" }));
    }

    [Test]
    public void Normalizing_twice_changes_nothing_more_and_records_no_conflict_twice()
    {
        foreach (var keep in new[] { false, true })
        {
            var span = SpanWith(("gen_ai.usage.input_tokens", 10L), ("llm.token_count.prompt", 12L), ("openinference.span.kind", "TOOL"),
                ("gen_ai.operation.name", "chat"), ("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", "hi"));
            var normalizer = Normalizer(keep: keep);
            normalizer.Normalize(span);
            var once = span.Clone();

            normalizer.Normalize(span);

            Assert.That(span, Is.EqualTo(once), $"keep_source_keys={keep}");
            Assert.That(ConflictRecords(span), Has.Count.EqualTo(2));
        }
    }

    [Test]
    public void Conflicts_are_appended_to_an_existing_conflicts_attribute()
    {
        var span = SpanWith((SpanNormalizer.ConflictsAttribute, "from an earlier hop"), ("gen_ai.usage.input_tokens", 1L), ("llm.token_count.prompt", 2L));

        Normalizer().Normalize(span);

        var values = Get(span, SpanNormalizer.ConflictsAttribute)!.ArrayValue.Values;
        Assert.That(values, Has.Count.EqualTo(2));
        Assert.That(values[0].StringValue, Is.EqualTo("from an earlier hop"));
    }

    // ---- total tokens -----------------------------------------------------------------------------

    [Test]
    public void Total_is_filled_only_when_missing_and_both_sides_are_known()
    {
        var both = SpanWith(("gen_ai.usage.input_tokens", 3L), ("gen_ai.usage.output_tokens", 4L));
        var explicitTotal = SpanWith(("gen_ai.usage.input_tokens", 3L), ("gen_ai.usage.output_tokens", 4L), ("llm.token_count.total", 9L));
        var inputOnly = SpanWith(("gen_ai.usage.input_tokens", 3L));

        Normalizer().Normalize(both);
        Normalizer().Normalize(explicitTotal);
        Normalizer().Normalize(inputOnly);

        Assert.That(GetInt(both, "gen_ai.usage.total_tokens"), Is.EqualTo(7));
        Assert.That(GetInt(explicitTotal, "gen_ai.usage.total_tokens"), Is.EqualTo(9), "an explicit total is kept even when it is not the sum");
        Assert.That(Get(inputOnly, "gen_ai.usage.total_tokens"), Is.Null);
    }

    [Test]
    public void Total_is_filled_for_the_langtrace_target_too()
    {
        var span = SpanWith(("llm.token_count.prompt", 3L), ("llm.token_count.completion", 4L));

        Normalizer(ConflictTarget.Langtrace).Normalize(span);

        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(3));
        Assert.That(GetInt(span, "gen_ai.usage.output_tokens"), Is.EqualTo(4));
        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(7));
    }

    // ---- wrong types ------------------------------------------------------------------------------

    [Test]
    public void Numeric_strings_and_integral_doubles_are_token_counts()
    {
        var span = SpanWith(("gen_ai.usage.input_tokens", " 12 "), ("gen_ai.usage.completion_tokens", 5.0), ("llm.token_count.total", "17.0"));

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(Get(span, "gen_ai.usage.input_tokens")!.ValueCase, Is.EqualTo(AnyValue.ValueOneofCase.IntValue));
        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(12));
        Assert.That(GetInt(span, "gen_ai.usage.output_tokens"), Is.EqualTo(5));
        Assert.That(GetInt(span, "gen_ai.usage.total_tokens"), Is.EqualTo(17));
        Assert.That(Skipped("input_tokens") + Skipped("output_tokens") + Skipped("total_tokens"), Is.Zero);
    }

    [Test]
    public void Garbage_values_are_skipped_counted_and_left_in_place()
    {
        var array = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { IntValue = 1 } } } };
        var span = SpanWith(
            ("llm.token_count.prompt", "twelve"), ("gen_ai.usage.prompt_tokens", 12.5), ("gen_ai.usage.completion_tokens", -3L),
            ("llm.token_count.completion", true), ("llm.provider", 42L), ("llm.model_name", array),
            ("gen_ai.input.messages", "not json"), ("llm.prompts", 7L), ("openinference.span.kind", 1L));

        Assert.DoesNotThrow(() => Normalizer().Normalize(span));

        Assert.That(Skipped("input_tokens"), Is.EqualTo(2));
        Assert.That(Skipped("output_tokens"), Is.EqualTo(2));
        Assert.That(Skipped("provider"), Is.EqualTo(1));
        Assert.That(Skipped("request_model"), Is.EqualTo(1));
        Assert.That(Skipped("prompt"), Is.EqualTo(2));
        Assert.That(Skipped("operation"), Is.EqualTo(1));
        Assert.That(span.Attributes, Has.Count.EqualTo(9), "nothing uninterpretable is removed or added");
        Assert.That(ConflictRecords(span), Is.Empty, "garbage is a skip, not a conflict");
    }

    [Test]
    public void A_valid_source_replaces_garbage_under_the_target_key()
    {
        var span = SpanWith(("gen_ai.usage.input_tokens", "n/a"), ("llm.token_count.prompt", 8L));

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(GetInt(span, "gen_ai.usage.input_tokens"), Is.EqualTo(8));
        Assert.That(Skipped("input_tokens"), Is.EqualTo(1));
    }

    // ---- operation / span kind --------------------------------------------------------------------

    [TestCase("traceloop.span.kind", "tool", "execute_tool")]
    [TestCase("traceloop.span.kind", "agent", "invoke_agent")]
    [TestCase("openinference.span.kind", "RETRIEVER", "retrieval")]
    [TestCase("openinference.span.kind", "EMBEDDING", "embeddings")]
    [TestCase("llm.request.type", "completion", "text_completion")]
    [TestCase("langtrace.service.type", "vectordb", "retrieval")]
    public void Span_kinds_map_to_the_otel_operation(string key, string value, string operation)
    {
        var span = SpanWith((key, value));

        Normalizer().Normalize(span);

        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo(operation));
        Assert.That(Get(span, key), Is.Null);
    }

    [TestCase("gen_ai.operation.name", "chat", "llm")]
    [TestCase("openinference.span.kind", "RETRIEVER", "vectordb")]
    [TestCase("traceloop.span.kind", "workflow", "framework")]
    [TestCase("openinference.span.kind", "CHAIN", "framework")]
    public void Span_kinds_map_to_the_langtrace_service_type(string key, string value, string serviceType)
    {
        var span = SpanWith((key, value));

        Normalizer(ConflictTarget.Langtrace).Normalize(span);

        Assert.That(GetString(span, "langtrace.service.type"), Is.EqualTo(serviceType));
    }

    [Test]
    public void A_generic_llm_kind_agrees_with_a_specific_one_and_the_specific_one_is_written()
    {
        var span = SpanWith(("langtrace.service.type", "llm"), ("llm.request.type", "embedding"), ("openinference.span.kind", "LLM"));

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo("embeddings"));
        Assert.That(Keys(span), Is.EqualTo(new[] { "gen_ai.operation.name" }));
    }

    [Test]
    public void Under_langtrace_a_more_specific_source_kind_is_kept_because_llm_cannot_say_it()
    {
        var span = SpanWith(("llm.request.type", "chat"), ("openinference.span.kind", "LLM"));

        Normalizer(ConflictTarget.Langtrace).Normalize(span);

        Assert.That(GetString(span, "langtrace.service.type"), Is.EqualTo("llm"));
        Assert.That(GetString(span, "llm.request.type"), Is.EqualTo("chat"));
        Assert.That(Get(span, "openinference.span.kind"), Is.Null);
    }

    [Test]
    public void Disagreeing_kinds_are_a_conflict()
    {
        var span = SpanWith(("gen_ai.operation.name", "chat"), ("openinference.span.kind", "TOOL"));

        Assert.That(Normalizer().Normalize(span), Is.EqualTo(1));

        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo("chat"));
        var record = ConflictRecords(span).Single();
        Assert.That(record.GetProperty("concept").GetString(), Is.EqualTo("operation"));
        Assert.That(record.GetProperty("rejected").GetProperty("value").GetString(), Is.EqualTo("TOOL"));
        Assert.That(Conflicts("operation"), Is.EqualTo(1));
    }

    [Test]
    public void Kinds_the_target_cannot_express_and_custom_target_operations_stay()
    {
        var chain = SpanWith(("openinference.span.kind", "CHAIN"));
        var custom = SpanWith(("gen_ai.operation.name", "summarize_ticket"), ("openinference.span.kind", "LLM"));

        Normalizer().Normalize(chain);
        Normalizer().Normalize(custom);

        Assert.That(Keys(chain), Is.EqualTo(new[] { "openinference.span.kind" }));
        Assert.That(GetString(custom, "gen_ai.operation.name"), Is.EqualTo("summarize_ticket"));
        Assert.That(GetString(custom, "openinference.span.kind"), Is.EqualTo("LLM"));
    }

    // ---- messages ---------------------------------------------------------------------------------

    [Test]
    public void Equal_messages_in_two_conventions_are_no_conflict()
    {
        var span = SpanWith(
            ("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"""),
            ("llm.input_messages.0.message.role", "user"), ("llm.input_messages.0.message.content", "hi"));

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(Keys(span), Is.EqualTo(new[] { "gen_ai.input.messages" }));
    }

    [TestCase(ConflictPreference.Target, "from otel")]
    [TestCase(ConflictPreference.Source, "from openllmetry")]
    [TestCase(ConflictPreference.Max, "from otel")]
    public void Different_messages_are_a_conflict_resolved_by_prefer(ConflictPreference prefer, string expectedText)
    {
        var span = SpanWith(
            ("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"from otel"}]}]"""),
            ("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", "from openllmetry"));

        Assert.That(Normalizer(prefer: prefer).Normalize(span), Is.EqualTo(1));

        var messages = MessageJson.TryParse(GetString(span, "gen_ai.input.messages")!)!;
        Assert.That(messages.Single().Text(), Is.EqualTo(expectedText));
        var record = ConflictRecords(span).Single();
        Assert.That(record.GetProperty("concept").GetString(), Is.EqualTo("prompt"));
        Assert.That(Conflicts("prompt"), Is.EqualTo(1));
    }

    [Test]
    public void Long_message_values_are_cut_in_conflict_records()
    {
        var longText = new string('x', 5000);
        var span = SpanWith(("gen_ai.prompt.0.content", longText), ("llm.input_messages.0.message.content", "short"));

        Normalizer().Normalize(span);

        var chosen = ConflictRecords(span).Single().GetProperty("chosen").GetProperty("value").GetString()!;
        Assert.That(chosen, Has.Length.EqualTo(SpanNormalizer.MaxRecordedValueLength + 1));
        Assert.That(chosen, Does.EndWith("…"));
    }

    [Test]
    public void The_langtrace_target_gets_prompt_and_completion_events_and_mirror_keys()
    {
        var span = SpanWith(
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o"),
            ("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"""),
            ("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"text","content":"hello"}],"finish_reason":"stop"}]"""));

        Assert.That(Normalizer(ConflictTarget.Langtrace).Normalize(span), Is.Zero);

        Assert.That(GetString(span, "langtrace.service.type"), Is.EqualTo("llm"));
        Assert.That(GetString(span, "gen_ai.system"), Is.EqualTo("openai"));
        Assert.That(GetString(span, "langtrace.service.name"), Is.EqualTo("openai"));
        Assert.That(GetString(span, "llm.model"), Is.EqualTo("gpt-4o"));
        Assert.That(Keys(span), Does.Not.Contain("gen_ai.input.messages").And.Not.Contain("gen_ai.provider.name"));
        Assert.That(GetString(span, "gen_ai.operation.name"), Is.EqualTo("chat"), "langtrace.service.type cannot say chat, so the source stays");
        Assert.That(span.Events, Has.Count.EqualTo(2));
        var prompt = span.Events.Single(e => e.Name == "gen_ai.content.prompt");
        var completion = span.Events.Single(e => e.Name == "gen_ai.content.completion");
        Assert.That(prompt.TimeUnixNano, Is.EqualTo(span.StartTimeUnixNano));
        Assert.That(completion.TimeUnixNano, Is.EqualTo(span.EndTimeUnixNano));
        Assert.That(OtlpAttributes.FindString(prompt.Attributes, "gen_ai.prompt"), Is.EqualTo("""[{"role":"user","content":"hi"}]"""));
        Assert.That(OtlpAttributes.FindString(completion.Attributes, "gen_ai.completion"), Is.EqualTo("""[{"role":"assistant","content":"hello","finish_reason":"stop"}]"""));
    }

    [Test]
    public void An_existing_langtrace_prompt_event_is_not_duplicated_and_sources_agreeing_with_it_go()
    {
        var span = SpanWith(("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", "hi"));
        var promptEvent = new Span.Types.Event { Name = "gen_ai.content.prompt", TimeUnixNano = 5 };
        promptEvent.Attributes.Add(new KeyValue { Key = "gen_ai.prompt", Value = new AnyValue { StringValue = """[{"role":"user","content":"hi"}]""" } });
        span.Events.Add(promptEvent);

        Assert.That(Normalizer(ConflictTarget.Langtrace).Normalize(span), Is.Zero);

        Assert.That(span.Events, Has.Count.EqualTo(1));
        Assert.That(span.Events[0].TimeUnixNano, Is.EqualTo(5));
        Assert.That(Keys(span), Is.Empty);
    }

    [Test]
    public void Langtrace_prompt_events_become_otel_input_messages()
    {
        var span = SpanWith(("langtrace.service.type", "llm"));
        var promptEvent = new Span.Types.Event { Name = "gen_ai.content.prompt", TimeUnixNano = 5 };
        promptEvent.Attributes.Add(new KeyValue { Key = "gen_ai.prompt", Value = new AnyValue { StringValue = """[{"role":"user","content":"hi"}]""" } });
        span.Events.Add(promptEvent);

        Normalizer().Normalize(span);

        Assert.That(GetString(span, "gen_ai.input.messages"), Is.EqualTo("""[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"""));
        Assert.That(span.Events, Is.Empty);
    }

    [Test]
    public void Spans_without_genai_keys_are_not_touched()
    {
        var span = SpanWith(("http.method", "GET"), ("db.system", "postgresql"));
        var before = span.Clone();

        Assert.That(Normalizer().Normalize(span), Is.Zero);

        Assert.That(span, Is.EqualTo(before));
    }
}
