using Collector.Processors.LangtraceMerge;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>Event -> span merge (docs/architecture.md, "GenAI processing"): duplicate, semantic overlap, span event, orphan.</summary>
public sealed class EventMergeRuleTests
{
    [Test]
    public async Task A_repeated_event_within_the_duplicate_window_is_dropped_and_counted()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var tool = Tool(trace, null, "get_weather", 0, 900);
        await merge.SendAsync(tool);
        await merge.SendAsync(
            Event(tool, "tool_use", 100, "{\"city\":\"Paris\"}", Attr("tool.name", "get_weather")),
            Event(tool, "tool_use", 550, "{\"city\":\"Paris\"}", Attr("tool.name", "get_weather")));
        await merge.FlushAllAsync();

        var events = merge.OutputSpan(tool).Events;
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].TimeUnixNano, Is.EqualTo(At(100)), "the earlier one is kept");
        Assert.That(merge.Events("duplicate"), Is.EqualTo(1));
        Assert.That(merge.OutputLogs(), Is.Empty);
    }

    [Test]
    public async Task The_same_event_beyond_the_duplicate_window_is_kept()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var tool = Tool(trace, null, "get_weather", 0, 900);
        await merge.SendAsync(tool);
        await merge.SendAsync(
            Event(tool, "tool_use", 100, "{\"city\":\"Paris\"}"),
            Event(tool, "tool_use", 601, "{\"city\":\"Paris\"}"));
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpan(tool).Events.Select(e => e.TimeUnixNano), Is.EqualTo(new[] { At(100), At(601) }));
        Assert.That(merge.Events("duplicate"), Is.Zero);
        Assert.That(merge.Events("span_event"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_duplicate_is_judged_against_kept_events_so_a_chain_of_repeats_keeps_one_per_window()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var tool = Tool(trace, null, "search", 0, 2000);
        await merge.SendAsync(tool);
        // 0 kept; 400 dup of 0; 800 is 800ms after the kept one -> kept; 1200 dup of 800.
        await merge.SendAsync(
            Event(tool, "retry", 0, "x"), Event(tool, "retry", 400, "x"), Event(tool, "retry", 800, "x"), Event(tool, "retry", 1200, "x"));
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpan(tool).Events.Select(e => e.TimeUnixNano), Is.EqualTo(new[] { At(0), At(800) }));
        Assert.That(merge.Events("duplicate"), Is.EqualTo(2));
    }

    [Test]
    public async Task Stream_chunks_with_different_content_are_not_duplicates_by_default_but_are_under_duplicate_match_name()
    {
        foreach (var (match, expected) in new[] { (DuplicateMatch.Content, 3), (DuplicateMatch.Name, 1) })
        {
            await using var merge = await MergeHarness.StartAsync(c => c.DuplicateMatch = match);
            var trace = NewTrace();
            var tool = Tool(trace, null, "stream", 0, 900);
            await merge.SendAsync(tool);
            await merge.SendAsync(Event(tool, "stream.chunk", 10, "Par"), Event(tool, "stream.chunk", 20, "is"), Event(tool, "stream.chunk", 30, "."));
            await merge.FlushAllAsync();

            Assert.That(merge.OutputSpan(tool).Events, Has.Count.EqualTo(expected), match.ToString());
            Assert.That(merge.Events("duplicate"), Is.EqualTo(3 - expected), match.ToString());
        }
    }

    [Test]
    public async Task Same_named_events_of_different_spans_are_not_duplicates()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var a = Tool(trace, null, "a", 0, 900);
        var b = Tool(trace, null, "b", 0, 900);
        await merge.SendAsync(a, b);
        await merge.SendAsync(Event(a, "tool_use", 10, "same"), Event(b, "tool_use", 10, "same"));
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpan(a).Events, Has.Count.EqualTo(1));
        Assert.That(merge.OutputSpan(b).Events, Has.Count.EqualTo(1));
        Assert.That(merge.Events("duplicate"), Is.Zero);
    }

    [Test]
    public async Task A_langtrace_prompt_event_on_an_llm_span_merges_into_the_span_attributes()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        await merge.SendAsync(llm);
        const string prompt = "[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}]";
        await merge.SendAsync(AttributeEvent(llm, "gen_ai.content.prompt", 5, Attr("gen_ai.prompt", prompt)));
        await merge.FlushAllAsync();

        var span = merge.OutputSpan(llm);
        Assert.That(Str(span, "gen_ai.prompt"), Is.EqualTo(prompt));
        Assert.That(span.Attributes.Any(a => a.Key == "event.name"), Is.False, "the event's own name is not a span attribute");
        Assert.That(span.Events, Is.Empty, "no body, so no span event");
        Assert.That(merge.OutputLogs(), Is.Empty);
        Assert.That(merge.Events("semantic"), Is.EqualTo(1));
    }

    [Test]
    public async Task An_event_typed_llm_by_langtrace_service_type_merges_into_an_llm_span()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var llm = OtelChat(trace, null);
        await merge.SendAsync(llm);
        await merge.SendAsync(Event(llm, "llm.usage", 900, null, Attr("langtrace.service.type", "llm"), Attr("llm.cache_hit", "false")));
        await merge.FlushAllAsync();

        var span = merge.OutputSpan(llm);
        Assert.That(Str(span, "llm.cache_hit"), Is.EqualTo("false"));
        Assert.That(Str(span, "langtrace.service.type"), Is.EqualTo("llm"));
        Assert.That(merge.Events("semantic"), Is.EqualTo(1));
    }

    [TestCase(ConflictPreference.PreferSpan, "gpt-4o")]
    [TestCase(ConflictPreference.PreferEvent, "gpt-4o-mini")]
    public async Task A_conflicting_attribute_is_resolved_by_conflict_resolution_and_counted(ConflictPreference resolution, string expectedModel)
    {
        await using var merge = await MergeHarness.StartAsync(c => c.ConflictResolution = resolution);
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        await merge.SendAsync(llm);
        await merge.SendAsync(Event(llm, "gen_ai.choice", 900, null, Attr("gen_ai.request.model", "gpt-4o-mini"), Attr("gen_ai.system", "openai"), Attr("gen_ai.response.finish_reasons", "stop")));
        await merge.FlushAllAsync();

        var span = merge.OutputSpan(llm);
        Assert.That(Str(span, "gen_ai.request.model"), Is.EqualTo(expectedModel));
        Assert.That(span.Attributes.Count(a => a.Key == "gen_ai.request.model"), Is.EqualTo(1));
        Assert.That(Str(span, "gen_ai.response.finish_reasons"), Is.EqualTo("stop"), "missing keys always join");
        Assert.That(merge.Counter("conflicts_total"), Is.EqualTo(1), "gen_ai.system agrees, only the model conflicts");
    }

    [Test]
    public async Task An_inference_event_with_a_structured_body_keeps_the_body_as_a_span_event()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var llm = OtelChat(trace, null);
        await merge.SendAsync(llm);
        var choice = Event(llm, "gen_ai.choice", 950, null, Attr("gen_ai.system", "openai"));
        choice.Body = Kv(("index", new AnyValue { IntValue = 0 }), ("finish_reason", new AnyValue { StringValue = "stop" }));
        var expectedBody = choice.Body.Clone();
        await merge.SendAsync(choice);
        await merge.FlushAllAsync();

        var span = merge.OutputSpan(llm);
        Assert.That(Str(span, "gen_ai.system"), Is.EqualTo("openai"));
        var ev = span.Events.Single();
        Assert.That(ev.Name, Is.EqualTo("gen_ai.choice"));
        Assert.That(ev.TimeUnixNano, Is.EqualTo(At(950)));
        Assert.That(Value(ev.Attributes, "event.body"), Is.EqualTo(expectedBody), "structured bodies stay structured");
        Assert.That(merge.Events("semantic"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_tool_use_event_becomes_a_span_event_with_its_attributes_and_body()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        await merge.SendAsync(llm);
        await merge.SendAsync(AttributeEvent(llm, "tool_use", 700, Attr("tool.name", "get_weather"), Attr("tool.call.id", "call_1")));
        var withBody = Event(llm, "tool_result", 800, "{\"temp\":21}");
        withBody.DroppedAttributesCount = 2;
        await merge.SendAsync(withBody);
        await merge.FlushAllAsync();

        var events = merge.OutputSpan(llm).Events;
        Assert.That(events.Select(e => e.Name), Is.EqualTo(new[] { "tool_use", "tool_result" }));
        Assert.That(events[0].Attributes.Select(a => a.Key), Is.EqualTo(new[] { "tool.name", "tool.call.id" }), "event.name is the span event's name, not repeated");
        Assert.That(events[0].TimeUnixNano, Is.EqualTo(At(700)));
        Assert.That(Value(events[1].Attributes, "event.body")?.StringValue, Is.EqualTo("{\"temp\":21}"), "a string body stays a string");
        Assert.That(events[1].DroppedAttributesCount, Is.EqualTo(2));
        Assert.That(merge.Events("span_event"), Is.EqualTo(2));
        Assert.That(merge.OutputLogs(), Is.Empty);
    }

    [Test]
    public async Task An_inference_event_on_a_span_that_is_not_an_llm_span_becomes_a_span_event()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var http = Plain(trace, null, "POST /chat");
        await merge.SendAsync(http);
        await merge.SendAsync(Event(http, "gen_ai.user.message", 10, "hello", Attr("gen_ai.system", "openai")));
        await merge.FlushAllAsync();

        var span = merge.OutputSpan(http);
        Assert.That(span.Attributes.Any(a => a.Key == "gen_ai.system"), Is.False);
        Assert.That(span.Events.Single().Name, Is.EqualTo("gen_ai.user.message"));
        Assert.That(merge.Events("span_event"), Is.EqualTo(1));
    }

    [Test]
    public async Task An_event_whose_span_is_not_in_the_buffer_passes_down_the_logs_pipeline_unchanged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var elsewhere = Langtrace(trace, null);
        var orphan = Event(elsewhere, "gen_ai.content.completion", 900, null, Attr("gen_ai.completion", "Paris."));
        orphan.Flags = 1;
        var expected = orphan.Clone();
        await merge.SendAsync(orphan);
        await merge.FlushAllAsync();

        var output = merge.OutputLogs();
        Assert.That(output, Has.Count.EqualTo(1));
        Assert.That(output[0], Is.EqualTo(expected));
        Assert.That(merge.LogsOut.Batches.Single().Resources.Single().Resource.Attributes.Single().Value.StringValue, Is.EqualTo("chat-app"), "with its resource");
        Assert.That(merge.LogsOut.Batches.Single().Resources.Single().ScopeLogs.Single().Scope.Name, Is.EqualTo("langtrace"), "and its scope");
        Assert.That(merge.Events("orphan"), Is.EqualTo(1));
        Assert.That(merge.SpansOut.Batches, Is.Empty);
    }

    [Test]
    public async Task Log_records_that_are_not_ai_events_pass_straight_through_without_waiting()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var trace = NewTrace();
        var span = Plain(trace, null, "work");
        var noName = Event(span, string.Empty, 1, "plain log line");
        var noSpan = Event(span, "gen_ai.choice", 1, "no span id");
        noSpan.SpanId = Google.Protobuf.ByteString.Empty;
        var noTrace = new LogRecord { EventName = "gen_ai.choice", Body = new AnyValue { StringValue = "no trace" } };
        await merge.SendAsync(noName, noSpan, noTrace);

        Assert.That(merge.OutputLogs(), Has.Count.EqualTo(3), "handed on in the same call, not buffered");
        Assert.That(merge.LogsOut.Batches.Single().ItemCount, Is.EqualTo(3));
        Assert.That(merge.Counter("buffered_events"), Is.Zero);
    }

    private static AnyValue Kv(params (string Key, AnyValue Value)[] entries)
    {
        var list = new KeyValueList();
        foreach (var (key, value) in entries)
        {
            list.Values.Add(new KeyValue { Key = key, Value = value });
        }

        return new AnyValue { KvlistValue = list };
    }
}
