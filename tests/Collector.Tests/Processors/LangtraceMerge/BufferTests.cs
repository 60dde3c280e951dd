using System.Diagnostics;
using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Processors.LangtraceMerge;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>The trace-keyed buffer: wait after the last item, limits with early flushes, shutdown, acks, batch bookkeeping.</summary>
public sealed class BufferTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Test]
    public async Task A_trace_is_held_for_wait_and_then_flushed_by_the_expiry_loop()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMilliseconds(200));
        var span = OtelChat(NewTrace(), null);
        var sent = Stopwatch.StartNew();
        await merge.SendAsync(span);
        Assert.That(merge.SpansOut.Batches, Is.Empty, "held, not passed on");
        Assert.That(merge.Counter("buffered_traces"), Is.EqualTo(1));

        await Poll.UntilAsync(() => merge.OutputSpans().Count == 1, Deadline, "the expired trace");
        Assert.That(sent.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)));
        Assert.That(merge.Counter("buffered_traces"), Is.Zero);
        Assert.That(merge.Counter("buffered_spans"), Is.Zero);
    }

    [Test]
    public async Task Events_before_and_after_their_span_in_separate_requests_seconds_apart_still_merge()
    {
        // wait 1s; four requests 400ms apart: 1.2s from first to last, each within wait of the one before.
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromSeconds(1));
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        var tool = Tool(trace, llm, "get_weather", 300, 400);
        var clock = Stopwatch.StartNew();
        await merge.SendAsync(AttributeEvent(llm, "gen_ai.content.prompt", 1, Attr("gen_ai.prompt", "[{\"role\":\"user\",\"content\":\"hi\"}]")));
        await DelayUntil(clock, 400);
        await merge.SendAsync(llm);
        await DelayUntil(clock, 800);
        await merge.SendAsync(AttributeEvent(llm, "gen_ai.content.completion", 999, Attr("gen_ai.completion", "[{\"role\":\"assistant\",\"content\":\"hello\"}]")));
        await DelayUntil(clock, 1200);
        await merge.SendAsync(Event(tool, "tool_use", 350, "{\"city\":\"Paris\"}"), Event(llm, "tool_use", 360, "{\"n\":1}"));
        await merge.SendAsync(tool);
        Assert.That(merge.SpansOut.Batches, Is.Empty, "nothing flushed while items keep arriving within wait");

        await Poll.UntilAsync(() => merge.OutputSpans().Count == 2, Deadline, "the merged trace");
        Assert.That(clock.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(2100)), "flushed a wait after the last item, not the first");
        var span = merge.OutputSpan(llm);
        Assert.That(Str(span, "gen_ai.prompt"), Does.Contain("hi"));
        Assert.That(Str(span, "gen_ai.completion"), Does.Contain("hello"));
        Assert.That(span.Events.Single().Name, Is.EqualTo("tool_use"));
        Assert.That(merge.OutputSpan(tool).Events.Single().Name, Is.EqualTo("tool_use"));
        Assert.That(merge.OutputLogs(), Is.Empty);
        Assert.That(merge.SpansOut.Batches, Has.Count.EqualTo(1), "one flush");
    }

    [Test]
    public async Task Over_max_traces_the_least_recently_fed_trace_is_flushed_early_and_counted()
    {
        await using var merge = await MergeHarness.StartAsync(c => { c.MaxTraces = 2; c.Wait = TimeSpan.FromMinutes(1); });
        var first = Plain(NewTrace(), null, "first");
        var second = Plain(NewTrace(), null, "second");
        await merge.SendAsync(first);
        await merge.SendAsync(second);
        await merge.SendAsync(Plain(first.TraceId.ToByteArray(), first, "first-child"));
        await merge.SendAsync(Plain(NewTrace(), null, "third"));

        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EqualTo(new[] { "second" }), "second was fed least recently");
        Assert.That(merge.Counter("early_flushes_total", ("reason", "max_traces")), Is.EqualTo(1));
        Assert.That(merge.Counter("buffered_traces"), Is.EqualTo(2));
    }

    [Test]
    public async Task Reaching_max_spans_per_trace_flushes_that_trace_at_once_and_counts()
    {
        await using var merge = await MergeHarness.StartAsync(c => { c.MaxSpansPerTrace = 10; c.Wait = TimeSpan.FromMinutes(1); });
        var trace = NewTrace();
        var spans = Enumerable.Range(0, 25).Select(i => Plain(trace, null, $"s{i}")).ToArray();
        await merge.SendAsync(spans);

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(20));
        Assert.That(merge.SpansOut.Batches.Sum(b => b.ItemCount), Is.EqualTo(20));
        Assert.That(merge.Counter("early_flushes_total", ("reason", "max_spans_per_trace")), Is.EqualTo(2));
        Assert.That(merge.Counter("buffered_spans"), Is.EqualTo(5));
        await merge.FlushAllAsync();
        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EquivalentTo(spans.Select(s => s.Name)));
    }

    [Test]
    public async Task Reaching_max_events_per_trace_flushes_that_trace_at_once_and_counts()
    {
        await using var merge = await MergeHarness.StartAsync(c => { c.MaxEventsPerTrace = 3; c.Wait = TimeSpan.FromMinutes(1); });
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        await merge.SendAsync(llm);
        await merge.SendAsync(Event(llm, "tool_use", 1, "a"), Event(llm, "tool_use", 2, "b"), Event(llm, "tool_use", 3, "c"), Event(llm, "tool_use", 4, "d"));

        Assert.That(merge.OutputSpan(llm).Events, Has.Count.EqualTo(3), "the span and its first three events left together");
        Assert.That(merge.Counter("early_flushes_total", ("reason", "max_events_per_trace")), Is.EqualTo(1));
        await merge.FlushAllAsync();
        Assert.That(merge.OutputLogs().Single().Body.StringValue, Is.EqualTo("d"), "the fourth came after its span left: an orphan, not lost");
    }

    [Test]
    public async Task Shutdown_flushes_every_buffered_trace_to_both_pipelines_is_idempotent_and_later_input_passes_through()
    {
        var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var traces = Enumerable.Range(0, 50).Select(_ => NewTrace()).ToList();
        foreach (var trace in traces)
        {
            await merge.SendAsync(Plain(trace, null, "root"));
        }

        var orphanSpan = Plain(NewTrace(), null, "never sent");
        await merge.SendAsync(Event(orphanSpan, "gen_ai.choice", 1, "orphan"));
        Assert.That(merge.SpansOut.Batches, Is.Empty);

        await merge.Traces.ShutdownAsync(CancellationToken.None);
        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(50));
        Assert.That(merge.OutputLogs(), Has.Count.EqualTo(1), "the traces side's shutdown also flushed the logs side");

        await merge.Traces.ShutdownAsync(CancellationToken.None);
        await merge.Logs.ShutdownAsync(CancellationToken.None);
        await merge.SendAsync(Plain(NewTrace(), null, "late"));
        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(51), "after shutdown items pass straight through");
        await merge.DisposeAsync();
    }

    [Test]
    public async Task A_large_flush_runs_in_parallel_parts_and_every_trace_is_merged_delivered_and_acked_once()
    {
        // 2,000 traces in one flush: more than 256 per part, so with two or more cores it is cut into parts.
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var acks = new List<DeliveryAck>();
        var kept = new List<Span>();
        var dropped = new HashSet<Google.Protobuf.ByteString>();
        for (var request = 0; request < 20; request++)
        {
            var spans = new List<Span>();
            for (var t = 0; t < 100; t++)
            {
                var trace = NewTrace();
                var otel = OtelChat(trace, null);
                var langtrace = Langtrace(trace, otel, 5, 995);
                spans.Add(otel);
                spans.Add(langtrace);
                // The Langtrace span carries more GenAI attributes: it is kept, the OTel twin merged into it.
                kept.Add(langtrace);
                dropped.Add(otel.SpanId);
            }

            var batch = MergeHarness.SpanBatch([.. spans]);
            var ack = new DeliveryAck();
            batch.Acks = [ack];
            acks.Add(ack);
            await merge.Traces.ConsumeAsync(batch, CancellationToken.None);
        }

        await merge.FlushAllAsync();

        var output = merge.OutputSpans();
        Assert.That(output.Select(s => s.SpanId), Is.EquivalentTo(kept.Select(s => s.SpanId)), "each Langtrace span once; each OTel twin merged away");
        Assert.That(output.Any(s => dropped.Contains(s.SpanId)), Is.False);
        Assert.That(merge.SpansOut.Batches, Has.Count.EqualTo(Math.Clamp(2000 / 256, 1, Environment.ProcessorCount)), "one output batch per part");
        Assert.That(merge.SpansOut.Batches.Sum(b => b.ItemCount), Is.EqualTo(2000));
        foreach (var ack in acks)
        {
            Assert.That(await ack.Task.WaitAsync(TimeSpan.FromSeconds(10)), Is.Null);
        }
    }

    [Test]
    public async Task Shutdown_before_start_and_twice_is_safe()
    {
        var factory = new LangtraceMergeFactory();
        var processor = factory.CreateProcessor(TestData.Context("langtrace_merge"), factory.CreateDefaultConfig(), new RecordingConsumer<ResourceSpans>());
        await processor.ShutdownAsync(CancellationToken.None);
        await processor.ShutdownAsync(CancellationToken.None);
        Assert.That(processor.MutatesData, Is.True);
    }

    [Test]
    public async Task A_requests_ack_is_settled_only_when_all_its_buffered_items_have_been_delivered()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        var spanAck = new DeliveryAck();
        var spans = MergeHarness.SpanBatch(llm, Plain(NewTrace(), null, "other trace"));
        spans.Acks = [spanAck];
        await merge.Traces.ConsumeAsync(spans, CancellationToken.None);
        var eventAck = new DeliveryAck();
        var events = MergeHarness.LogBatch(Event(llm, "tool_use", 1, "x"));
        events.Acks = [eventAck];
        await merge.Logs.ConsumeAsync(events, CancellationToken.None);

        Assert.That(spanAck.Task.IsCompleted, Is.False, "its spans are still buffered");
        Assert.That(eventAck.Task.IsCompleted, Is.False);

        await merge.FlushAllAsync();
        Assert.That(await spanAck.Task, Is.Null);
        Assert.That(await eventAck.Task, Is.Null, "the merged event's request rides on the span batch");
        Assert.That(merge.SpansOut.Batches.Sum(b => b.Acks?.Count ?? 0), Is.EqualTo(3), "one holder per request per trace");
    }

    [Test]
    public async Task An_ack_fails_when_the_next_consumer_fails_and_the_loss_is_counted()
    {
        var metrics = new SelfMetrics();
        var factory = new LangtraceMergeFactory();
        var context = TestData.Context("langtrace_merge", metrics);
        var processor = factory.CreateProcessor(context, new LangtraceMergeConfig { Wait = TimeSpan.FromMinutes(1) }, new FailingConsumer());
        var ack = new DeliveryAck();
        var batch = MergeHarness.SpanBatch(Plain(NewTrace(), null, "a"), Plain(NewTrace(), null, "b"));
        batch.Acks = [ack];
        await processor.ConsumeAsync(batch, CancellationToken.None);
        await processor.ShutdownAsync(CancellationToken.None);

        Assert.That(await ack.Task, Is.Not.Null);
        Assert.That(metrics.Sum("collector_processor_langtrace_merge_flush_failed_spans_total"), Is.EqualTo(2));
    }

    [Test]
    public async Task Pass_through_items_keep_the_original_resource_and_buffered_ones_get_their_own_copy()
    {
        await using var merge = await MergeHarness.StartAsync(c => { c.MaxTraces = 1; c.Wait = TimeSpan.FromMinutes(1); });
        var bad = Plain(NewTrace(), null, "bad ids");
        bad.SpanId = Google.Protobuf.ByteString.Empty;
        await merge.SendAsync(Plain(NewTrace(), null, "a"), Plain(NewTrace(), null, "b"), bad);
        await merge.FlushAllAsync();

        var batches = merge.SpansOut.Batches;
        Assert.That(batches.Select(b => b.ItemCount), Is.EqualTo(new[] { 1, 1, 1 }), "a (flushed by b's arrival), the pass-through, then b");
        var resources = batches.Select(b => b.Resources.Single().Resource).ToList();
        Assert.That(resources.Distinct(ReferenceEqualityComparer.Instance).Count(), Is.EqualTo(3), "no two batches share a mutable resource");
        Assert.That(resources.All(r => r.Attributes.Single().Value.StringValue == "chat-app"));
        Assert.That(merge.Counter("bad_input_total", ("reason", "invalid_id")), Is.EqualTo(1));
    }

    [Test]
    public async Task Two_traces_pipelines_listing_one_instance_each_get_their_own_spans_back()
    {
        var factory = new LangtraceMergeFactory();
        var shared = new SharedComponents();
        var metrics = new SelfMetrics();
        var id = TestData.ComponentIdOf("langtrace_merge/shared");
        var config = new LangtraceMergeConfig { Wait = TimeSpan.FromMinutes(1) };
        RecordingConsumer<ResourceSpans> outA = new(), outB = new();
        var a = factory.CreateProcessor(new ComponentContext(id, Serilog.Core.Logger.None, metrics, shared), config, outA);
        var b = factory.CreateProcessor(new ComponentContext(id, Serilog.Core.Logger.None, metrics, shared), config, outB);
        var trace = NewTrace();
        var otel = OtelChat(trace, null);
        var langtrace = Langtrace(trace, otel, 5, 995);
        await a.ConsumeAsync(MergeHarness.SpanBatch(otel), CancellationToken.None);
        await b.ConsumeAsync(MergeHarness.SpanBatch(langtrace, Plain(trace, otel, "child")), CancellationToken.None);
        await a.ShutdownAsync(CancellationToken.None);
        await b.ShutdownAsync(CancellationToken.None);

        Assert.That(outA.ItemCount, Is.Zero, "its only span was merged into the other pipeline's span");
        Assert.That(outB.Batches.SelectMany(x => x.Resources).SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => s.Name), Is.EquivalentTo(new[] { langtrace.Name, "child" }));
    }

    private static async Task DelayUntil(Stopwatch clock, int ms)
    {
        var remaining = TimeSpan.FromMilliseconds(ms) - clock.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }
    }

    private sealed class FailingConsumer : IConsumer<ResourceSpans>
    {
        public bool MutatesData => false;

        public ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken) => throw new InvalidOperationException("backend exploded");
    }
}
