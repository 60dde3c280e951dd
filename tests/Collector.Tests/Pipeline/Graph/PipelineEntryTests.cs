using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Graph;
using Collector.Pipeline.Telemetry;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Core;

public sealed class PipelineEntryTests
{
    private sealed class Gate(string? reason) : IAdmissionControl
    {
        public bool IsRefusing => reason is not null;

        public string? CheckAdmission(long incomingBytes) => reason;
    }

    [Test]
    public async Task A_full_channel_refuses_after_submit_timeout_and_counts_then_drains_everything_accepted()
    {
        var metrics = new SelfMetrics();
        var downstream = new GatedConsumer<ResourceSpans>();
        var config = new PipelineConfig { QueueSize = 2, SubmitTimeout = TimeSpan.FromMilliseconds(100) };
        var entry = new PipelineEntry<ResourceSpans>(new PipelineId(Signal.Traces, ""), config, downstream, [], durable: false, metrics, Serilog.Core.Logger.None);
        entry.Start();

        var accepted = 0;
        SubmitResult last = default;
        for (var i = 0; i < 6; i++)
        {
            last = await entry.SubmitAsync(TestData.SpanBatch(1, 1, 2), CancellationToken.None);
            if (last.Status == SubmitStatus.Accepted)
            {
                accepted++;
            }
        }

        Assert.That(last.Status, Is.EqualTo(SubmitStatus.Refused));
        Assert.That(last.RetryAfter, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(accepted, Is.InRange(2, 3), "channel capacity 2 plus at most one batch held by the reader");
        Assert.That(metrics.Read("collector_pipeline_refused_spans_total", ("pipeline", "traces")), Is.EqualTo((6 - accepted) * 2));

        downstream.Open();
        await entry.DrainAsync(CancellationToken.None);
        Assert.That(downstream.Batches, Is.EqualTo(accepted));
    }

    [Test]
    public async Task An_admission_gate_refuses_before_anything_is_queued()
    {
        var downstream = new RecordingConsumer<ResourceSpans>();
        var entry = new PipelineEntry<ResourceSpans>(new PipelineId(Signal.Traces, "x"), new PipelineConfig(), downstream, [new Gate("memory limit exceeded")], false, new SelfMetrics(), Serilog.Core.Logger.None);
        entry.Start();

        var result = await entry.SubmitAsync(TestData.SpanBatch(1, 1, 1), CancellationToken.None);

        Assert.That(result.Status, Is.EqualTo(SubmitStatus.Refused));
        Assert.That(result.Reason, Is.EqualTo("memory limit exceeded"));
        await entry.DrainAsync(CancellationToken.None);
        Assert.That(downstream.Batches, Is.Empty);
    }

    [Test]
    public async Task A_durable_pipeline_answers_only_after_every_exporter_settled()
    {
        var slow = new GatedConsumer<ResourceSpans>();
        var fast = new RecordingConsumer<ResourceSpans>();
        var fanOut = new FanOutConsumer<ResourceSpans>([fast, slow]);
        var entry = new PipelineEntry<ResourceSpans>(new PipelineId(Signal.Traces, ""), new PipelineConfig(), fanOut, [], durable: true, new SelfMetrics(), Serilog.Core.Logger.None);
        entry.Start();

        var pending = entry.SubmitAsync(TestData.SpanBatch(1, 1, 3), CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => fast.Batches.Count == 1, TimeSpan.FromSeconds(5), "the fast exporter");
        Assert.That(pending.IsCompleted, Is.False, "the slow exporter has not settled yet");

        slow.Open();
        var result = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(result.Status, Is.EqualTo(SubmitStatus.Accepted));
        await entry.DrainAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_throwing_exporter_does_not_hide_the_batch_from_the_others()
    {
        var healthy = new RecordingConsumer<ResourceSpans>();
        var fanOut = new FanOutConsumer<ResourceSpans>([new ThrowingConsumer<ResourceSpans>(), healthy]);

        await Assert.CatchAsync<InvalidOperationException>(async () => await fanOut.ConsumeAsync(TestData.SpanBatch(1, 1, 2), CancellationToken.None));

        Assert.That(healthy.ItemCount, Is.EqualTo(2));
    }
}
