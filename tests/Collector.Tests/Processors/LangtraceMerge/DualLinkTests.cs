using Collector.GenAi;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>Dual-link de-duplication (docs/architecture.md, "GenAI processing"): one LLM call recorded by two or three instrumentations.</summary>
public sealed class DualLinkTests
{
    [Test]
    public async Task Otel_parent_and_langtrace_child_of_one_call_become_one_span_in_the_parents_place()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 2000);
        var otel = OtelChat(trace, request, 100, 1100);
        var langtrace = Langtrace(trace, otel, 110, 1090);
        await merge.SendAsync(request, otel, langtrace);
        await merge.FlushAllAsync();

        var output = merge.OutputSpans();
        Assert.That(output.Select(s => s.SpanId), Is.EquivalentTo(new[] { request.SpanId, langtrace.SpanId }), "the richer Langtrace span is kept");
        var kept = merge.OutputSpan(langtrace);
        Assert.That(kept.ParentSpanId, Is.EqualTo(request.SpanId), "it takes the dropped parent's place");
        Assert.That(Str(kept, "gen_ai.provider.name"), Is.EqualTo("openai"), "missing attributes of the dropped span join");
        Assert.That(Str(kept, "gen_ai.response.id"), Is.EqualTo("chatcmpl-1"));
        Assert.That(kept.Attributes.Count(a => a.Key == "gen_ai.request.model"), Is.EqualTo(1), "keys both carry are not repeated");
        Assert.That(TokenSum(output), Is.EqualTo(42), "usage is counted once");
        Assert.That(merge.Counter("dual_link_merged_total"), Is.EqualTo(1));
    }

    [Test]
    public async Task Sibling_spans_of_one_call_merge_and_the_children_of_the_dropped_one_are_re_parented()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 2000);
        var langtrace = Langtrace(trace, request, 100, 1100);
        var otel = OtelChat(trace, request, 105, 1095);
        var child = Plain(trace, otel, "HTTP POST api.openai.com", 120, 1080);
        await merge.SendAsync(request, langtrace, otel, child);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans().Select(s => s.SpanId), Is.EquivalentTo(new[] { request.SpanId, langtrace.SpanId, child.SpanId }));
        Assert.That(merge.OutputSpan(child).ParentSpanId, Is.EqualTo(langtrace.SpanId));
        Assert.That(merge.OutputSpan(langtrace).ParentSpanId, Is.EqualTo(request.SpanId));
        Assert.That(merge.Counter("dual_link_merged_total"), Is.EqualTo(1));
    }

    [Test]
    public async Task OpenLlmetry_and_otel_spans_of_one_call_merge()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var otel = OtelChat(trace, null, 0, 1000);
        var openLlmetry = OpenLlmetry(trace, otel, 5, 995);
        await merge.SendAsync(otel, openLlmetry);
        await merge.FlushAllAsync();

        var output = merge.OutputSpans();
        Assert.That(output, Has.Count.EqualTo(1));
        Assert.That(Str(output[0], "gen_ai.prompt.0.content"), Is.EqualTo("What is the capital of France?"));
        Assert.That(Str(output[0], "gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(TokenSum(output), Is.EqualTo(42));
    }

    [Test]
    public async Task OpenInference_and_otel_spans_of_one_call_merge()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var root = Plain(trace, null, "agent run", 0, 3000);
        var openInference = OpenInference(trace, root, 100, 1100);
        var otel = OtelChat(trace, root, 100, 1100);
        await merge.SendAsync(root, openInference, otel);
        await merge.FlushAllAsync();

        var output = merge.OutputSpans();
        Assert.That(output, Has.Count.EqualTo(2));
        var llm = output.Single(s => s.SpanId != root.SpanId);
        Assert.That(llm.SpanId, Is.EqualTo(openInference.SpanId), "OpenInference carries more GenAI attributes");
        Assert.That(Str(llm, "gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(TokenSum(output), Is.EqualTo(42));
    }

    [Test]
    public async Task Three_instrumentations_of_one_call_nested_collapse_to_one_span()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 2000);
        var otel = OtelChat(trace, request, 100, 1100);
        var langtrace = Langtrace(trace, otel, 105, 1095);
        var openInference = OpenInference(trace, langtrace, 110, 1090);
        var http = Plain(trace, openInference, "HTTP POST", 120, 1080);
        await merge.SendAsync(http, openInference, request, langtrace, otel);
        await merge.FlushAllAsync();

        var output = merge.OutputSpans();
        Assert.That(output, Has.Count.EqualTo(3));
        var llm = output.Single(s => GenAiConventions.IsLlmSpan(s));
        Assert.That(llm.ParentSpanId, Is.EqualTo(request.SpanId));
        Assert.That(merge.OutputSpan(http).ParentSpanId, Is.EqualTo(llm.SpanId));
        foreach (var key in new[] { "gen_ai.provider.name", "langtrace.sdk.name", "llm.model_name" })
        {
            Assert.That(llm.Attributes.Any(a => a.Key == key), key);
        }

        Assert.That(TokenSum(output), Is.EqualTo(42));
        Assert.That(merge.Counter("dual_link_merged_total"), Is.EqualTo(2));
    }

    [Test]
    public async Task Three_sibling_instrumentations_of_one_call_collapse_to_one_span()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 2000);
        var spans = new[] { OpenLlmetry(trace, request, 100, 1100), OtelChat(trace, request, 101, 1101), Langtrace(trace, request, 99, 1099) };
        await merge.SendAsync([request, .. spans]);
        await merge.FlushAllAsync();

        var output = merge.OutputSpans();
        Assert.That(output, Has.Count.EqualTo(2));
        Assert.That(TokenSum(output), Is.EqualTo(42));
        Assert.That(merge.Counter("dual_link_merged_total"), Is.EqualTo(2));
    }

    [Test]
    public async Task Different_token_counts_are_two_calls_and_are_not_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var otel = OtelChat(trace, null, 0, 1000, input: 10);
        var openInference = OpenInference(trace, otel, 5, 995, input: 12);
        await merge.SendAsync(otel, openInference);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(2));
        Assert.That(merge.Counter("dual_link_merged_total"), Is.Zero);
    }

    [Test]
    public async Task Tokens_missing_on_one_side_and_a_missing_provider_still_match()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var otel = OtelChat(trace, null, 0, 1000, input: null, output: null);
        otel.Attributes.Remove(otel.Attributes.Single(a => a.Key == "gen_ai.provider.name"));
        var langtrace = Langtrace(trace, otel, 5, 995);
        await merge.SendAsync(otel, langtrace);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(1));
        Assert.That(TokenSum(merge.OutputSpans()), Is.EqualTo(42));
    }

    [Test]
    public async Task Spans_overlapping_less_than_overlap_ratio_of_the_shorter_are_not_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 5000);
        // The shorter lasts 1000ms and overlaps the other by 700ms: 0.7 < 0.8.
        var first = OtelChat(trace, request, 0, 1000);
        var second = Langtrace(trace, request, 300, 1300);
        await merge.SendAsync(request, first, second);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Overlap_at_the_ratio_merges()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.OverlapRatio = 0.7);
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 5000);
        var first = OtelChat(trace, request, 0, 1000);
        var second = Langtrace(trace, request, 300, 1300);
        await merge.SendAsync(request, first, second);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Different_models_or_providers_are_not_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var request = Plain(trace, null, "POST /chat", 0, 5000);
        var gpt = OtelChat(trace, request, 0, 1000);
        var mini = Langtrace(trace, request, 0, 1000, model: "gpt-4o-mini");
        var claude = OtelChat(trace, request, 0, 1000);
        claude.Attributes.Single(a => a.Key == "gen_ai.provider.name").Value.StringValue = "anthropic";
        await merge.SendAsync(request, gpt, mini, claude);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(4));
    }

    [Test]
    public async Task Spans_that_are_neither_parent_child_nor_siblings_are_not_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var root = Plain(trace, null, "root", 0, 5000);
        var left = Plain(trace, root, "left", 0, 5000);
        var right = Plain(trace, root, "right", 0, 5000);
        await merge.SendAsync(root, left, right, OtelChat(trace, left, 0, 1000), Langtrace(trace, right, 0, 1000));
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(5));
    }

    [Test]
    public async Task A_framework_span_around_an_llm_call_and_parallel_tool_calls_are_not_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var chain = Plain(trace, null, "RetrievalQA", 0, 3000, Attr("langtrace.service.type", "framework"), Attr("langtrace.service.name", "langchain"));
        var llm = OtelChat(trace, chain, 100, 2900);
        var weatherParis = Tool(trace, chain, "get_weather", 100, 500);
        var weatherRome = Tool(trace, chain, "get_weather", 100, 500);
        await merge.SendAsync(chain, llm, weatherParis, weatherRome);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(4), "only LLM spans of compatible operations are one call");
    }

    [Test]
    public async Task Chat_and_embeddings_spans_are_not_one_call()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var chat = OtelChat(trace, null, 0, 1000, input: null, output: null);
        var embeddings = OtelChat(trace, chat, 0, 1000, input: null, output: null);
        embeddings.Attributes.Single(a => a.Key == "gen_ai.operation.name").Value.StringValue = "embeddings";
        await merge.SendAsync(chat, embeddings);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task On_equal_richness_the_outer_span_is_kept_and_siblings_keep_the_earlier_start()
    {
        await using var merge = await MergeHarness.StartAsync();
        var nested = NewTrace();
        var outer = OtelChat(nested, null, 0, 1000);
        var inner = OtelChat(nested, outer, 10, 990);
        var siblings = NewTrace();
        var root = Plain(siblings, null, "root", 0, 2000);
        var later = OtelChat(siblings, root, 20, 1000);
        var earlier = OtelChat(siblings, root, 10, 1000);
        await merge.SendAsync(inner, outer, root, later, earlier);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans().Select(s => s.SpanId), Is.EquivalentTo(new[] { outer.SpanId, root.SpanId, earlier.SpanId }));
    }

    [Test]
    public async Task Events_links_and_error_status_of_the_dropped_span_move_to_the_kept_one()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var otel = OtelChat(trace, null, 0, 1000);
        otel.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "rate limited" };
        otel.Links.Add(new Span.Types.Link { TraceId = otel.TraceId, SpanId = Google.Protobuf.ByteString.CopyFrom(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }) });
        var langtrace = Langtrace(trace, otel, 5, 995);
        await merge.SendAsync(otel, langtrace);
        // A tool_use event on the span that is dropped later: it must survive on the kept span.
        await merge.SendAsync(Event(otel, "tool_use", 500, "{\"name\":\"get_weather\"}"));
        await merge.FlushAllAsync();

        var kept = merge.OutputSpans().Single();
        Assert.That(kept.SpanId, Is.EqualTo(langtrace.SpanId));
        Assert.That(kept.Events.Single().Name, Is.EqualTo("tool_use"));
        Assert.That(kept.Links, Has.Count.EqualTo(1));
        Assert.That(kept.Status.Message, Is.EqualTo("rate limited"));
    }

    internal static long TokenSum(IEnumerable<Span> spans)
    {
        long sum = 0;
        foreach (var span in spans)
        {
            sum += (GenAiConventions.InputTokens(span) ?? 0) + (GenAiConventions.OutputTokens(span) ?? 0);
        }

        return sum;
    }
}
