using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Processors.LangtraceMerge;
using Collector.Processors.Redaction;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>Traces detached by one caller's intake and flushed in its flow: other requests' data, whatever that caller does.</summary>
public sealed class FlushConcurrencyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Test]
    public async Task A_caller_cancelled_while_waiting_for_the_flush_gate_does_not_lose_the_traces_its_intake_evicted()
    {
        var next = new HoldingConsumer();
        var (metrics, merge) = await StartAsync(next);
        var first = OtelChat(NewTrace(), null);
        var second = OtelChat(NewTrace(), null);
        var third = OtelChat(NewTrace(), null);
        await merge.ConsumeAsync(MergeHarness.SpanBatch(first), CancellationToken.None);

        // The second trace evicts the first (max_traces 1), whose flush is held downstream: the flush gate is taken.
        var holding = merge.ConsumeAsync(MergeHarness.SpanBatch(second), CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => next.Entered, Deadline, "the first flush to reach the next consumer");

        // The third evicts the second, then waits for the flush gate; its client goes away meanwhile.
        using var cancel = new CancellationTokenSource();
        var waiting = merge.ConsumeAsync(MergeHarness.SpanBatch(third), cancel.Token).AsTask();
        await Poll.UntilAsync(() => Early(metrics) == 2, Deadline, "the second trace to be evicted");
        await cancel.CancelAsync();
        next.Release();
        await holding;
        try
        {
            await waiting;
        }
        catch (OperationCanceledException)
        {
            // Refusing the cancelled request is fine; dropping other requests' traces is not.
        }

        await merge.ShutdownAsync(CancellationToken.None);
        Assert.That(next.SpanIds(), Is.EquivalentTo(new[] { first.SpanId, second.SpanId, third.SpanId }));
    }

    [Test]
    public async Task A_caller_cancelled_while_its_eviction_flush_is_downstream_does_not_fail_the_evicted_trace()
    {
        var next = new HoldingConsumer();
        var (metrics, merge) = await StartAsync(next);
        var first = OtelChat(NewTrace(), null);
        var second = OtelChat(NewTrace(), null);
        await merge.ConsumeAsync(MergeHarness.SpanBatch(first), CancellationToken.None);
        var ack = new DeliveryAck();
        var held = MergeHarness.SpanBatch(first.Clone());
        held.Resources[0].ScopeSpans[0].Spans[0].SpanId = NewSpanId();
        held.Acks = [ack];
        await merge.ConsumeAsync(held, CancellationToken.None);

        // The second request evicts the first trace; its client goes away while that trace is downstream.
        using var cancel = new CancellationTokenSource();
        var evicting = merge.ConsumeAsync(MergeHarness.SpanBatch(second), cancel.Token).AsTask();
        await Poll.UntilAsync(() => next.Entered, Deadline, "the evicted trace to reach the next consumer");
        await cancel.CancelAsync();
        next.Release();
        try
        {
            await evicting;
        }
        catch (OperationCanceledException)
        {
            // The cancelled request itself may be refused.
        }

        Assert.That(await ack.Task.WaitAsync(Deadline), Is.Null, "the other request's data was delivered");
        Assert.That(metrics.Sum("collector_processor_langtrace_merge_flush_failed_spans_total", [("processor", "langtrace_merge")]), Is.Zero);
        await merge.ShutdownAsync(CancellationToken.None);
        Assert.That(next.SpanIds(), Does.Contain(first.SpanId));
    }

    [Test]
    public async Task A_shutdown_queued_before_an_evicting_caller_flushes_the_evicted_trace_before_it_returns()
    {
        var next = new HoldingConsumer();
        var (_, merge) = await StartAsync(next);
        var first = OtelChat(NewTrace(), null);
        var second = OtelChat(NewTrace(), null);
        var third = OtelChat(NewTrace(), null);
        await merge.ConsumeAsync(MergeHarness.SpanBatch(first), CancellationToken.None);
        var holding = merge.ConsumeAsync(MergeHarness.SpanBatch(second), CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => next.Entered, Deadline, "the first trace's eviction flush to hold the flush gate");

        // Both calls run synchronously up to their wait for the flush gate: shutdown queues first, then
        // the third request, whose intake evicts the second trace before it queues.
        var shutdown = merge.ShutdownAsync(CancellationToken.None);
        var evicting = merge.ConsumeAsync(MergeHarness.SpanBatch(third), CancellationToken.None).AsTask();
        next.Release();
        await shutdown.WaitAsync(Deadline);

        // The evicted second trace was still in the buffer's detached list: shutdown took it along with
        // the buffered third, in one flush, rather than leaving it to a caller that runs after shutdown.
        Assert.That(next.SpanIdsPerBatch(), Has.Some.EquivalentTo(new[] { second.SpanId, third.SpanId }));
        await evicting.WaitAsync(Deadline);
        Assert.That(next.SpanIds(), Is.EquivalentTo(new[] { first.SpanId, second.SpanId, third.SpanId }));
    }

    [Test]
    public async Task Traces_of_one_request_flushed_at_different_times_each_get_the_resource_as_received()
    {
        // A processor after langtrace_merge changes the resource it is handed (redaction hashes a blocked key):
        // a later flush of the same request must not start from the already hashed value.
        var metrics = new SelfMetrics();
        var sink = new RecordingConsumer<ResourceSpans>();
        var redactionId = TestData.ComponentIdOf("redaction");
        var redaction = new RedactionFactory().CreateProcessor(
            new ComponentContext(redactionId, Serilog.Core.Logger.None, metrics, new SharedComponents()) { PipelineId = "traces" },
            new RedactionConfig { BlockedKeyPatterns = ["api_key"], Action = RedactionAction.Hash, HashKey = "k" },
            sink);
        var (_, merge) = await StartAsync(redaction, metrics);
        var first = OtelChat(NewTrace(), null);
        var second = OtelChat(NewTrace(), null);
        var batch = MergeHarness.SpanBatch(first, second);
        batch.Resources[0].Resource.Attributes.Add(TestData.Attr("api_key", "secret"));

        // max_traces 1: the second trace evicts the first (flushed now); the second leaves at shutdown.
        await merge.ConsumeAsync(batch, CancellationToken.None);
        await merge.ShutdownAsync(CancellationToken.None);

        var values = sink.Batches.SelectMany(b => b.Resources).Select(r => Value(r.Resource.Attributes, "api_key")!.StringValue).ToList();
        Assert.That(values, Has.Count.EqualTo(2));
        Assert.That(values[0], Does.StartWith("hmac:"));
        Assert.That(values[1], Is.EqualTo(values[0]), "hashed once, like the first flush");
    }

    private static async Task<(SelfMetrics Metrics, IProcessor<ResourceSpans> Merge)> StartAsync(IConsumer<ResourceSpans> next, SelfMetrics? metrics = null)
    {
        metrics ??= new SelfMetrics();
        var config = new LangtraceMergeConfig { Wait = TimeSpan.FromMinutes(1), MaxTraces = 1 };
        var context = new ComponentContext(TestData.ComponentIdOf("langtrace_merge"), Serilog.Core.Logger.None, metrics, new SharedComponents()) { PipelineId = "traces" };
        var merge = new LangtraceMergeFactory().CreateProcessor(context, config, next);
        await merge.StartAsync(CancellationToken.None);
        return (metrics, merge);
    }

    private static long Early(SelfMetrics metrics) =>
        (long)metrics.Sum("collector_processor_langtrace_merge_early_flushes_total", [("processor", "langtrace_merge"), ("reason", "max_traces")]);

    /// <summary>Holds its first call until released (honouring the caller's token, as an exporter would), records every span.</summary>
    private sealed class HoldingConsumer : IConsumer<ResourceSpans>
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly RecordingConsumer<ResourceSpans> _recorded = new();
        private int _calls;

        public bool MutatesData => false;

        public bool Entered => Volatile.Read(ref _calls) > 0;

        public void Release() => _release.TrySetResult();

        public List<List<Google.Protobuf.ByteString>> SpanIdsPerBatch() =>
            _recorded.Batches.Select(b => b.Resources.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => s.SpanId).ToList()).ToList();

        public List<Google.Protobuf.ByteString> SpanIds() =>
            _recorded.Batches.SelectMany(b => b.Resources).SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => s.SpanId).ToList();

        public async ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await _release.Task.WaitAsync(cancellationToken);
            }

            await _recorded.ConsumeAsync(batch, cancellationToken);
        }
    }
}
