using Collector.Pipeline;
using Collector.Processors.Batch;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Processors;

public sealed class BatchProcessorTests
{
    private static BatchProcessor<ResourceSpans> Create(BatchConfig config, RecordingConsumer<ResourceSpans> sink) =>
        new(TestData.Context("batch"), config, sink);

    [Test]
    public async Task Sends_when_send_batch_size_is_reached_without_waiting_for_the_timeout()
    {
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 10, Timeout = TimeSpan.FromMinutes(5) }, sink);
        await processor.StartAsync(CancellationToken.None);

        for (var i = 0; i < 4; i++)
        {
            await processor.ConsumeAsync(TestData.SpanBatch(1, 1, 3), CancellationToken.None);
        }

        Assert.That(sink.Batches, Has.Count.EqualTo(1), "12 items >= 10 triggers one send");
        Assert.That(sink.Batches[0].ItemCount, Is.EqualTo(12));
        await processor.ShutdownAsync(CancellationToken.None);
    }

    [Test]
    public async Task Sends_a_partial_batch_after_the_timeout()
    {
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 1000, Timeout = TimeSpan.FromMilliseconds(100) }, sink);
        await processor.StartAsync(CancellationToken.None);
        var started = DateTime.UtcNow;

        await processor.ConsumeAsync(TestData.SpanBatch(1, 1, 3), CancellationToken.None);
        await Poll.UntilAsync(() => sink.Batches.Count == 1, TimeSpan.FromSeconds(5), "the timeout send");

        Assert.That(DateTime.UtcNow - started, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(90)));
        Assert.That(sink.ItemCount, Is.EqualTo(3));
        await processor.ShutdownAsync(CancellationToken.None);
    }

    [Test]
    public async Task Splits_batches_larger_than_send_batch_max_size_and_loses_nothing()
    {
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 50, SendBatchMaxSize = 60, Timeout = TimeSpan.FromMinutes(5) }, sink);
        await processor.StartAsync(CancellationToken.None);
        var input = TestData.SpanBatch(2, 3, 25);
        var sent = TestData.SpanNames([input]);

        await processor.ConsumeAsync(input, CancellationToken.None);

        Assert.That(sink.Batches.Select(b => b.ItemCount), Is.EqualTo(new[] { 60, 60, 30 }));
        Assert.That(sink.Batches.All(b => SignalOps<ResourceSpans>.Instance.CountItems(b.Resources) == b.ItemCount));
        Assert.That(TestData.SpanNames(sink.Batches), Is.EqualTo(sent));
        await processor.ShutdownAsync(CancellationToken.None);
    }

    [Test]
    public async Task Merged_and_split_batches_carry_their_share_of_the_bytes()
    {
        // The exporter queue may be sized in bytes: a piece of a split must not arrive as 0 bytes.
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 100, SendBatchMaxSize = 60, Timeout = TimeSpan.FromMinutes(5) }, sink);
        await processor.StartAsync(CancellationToken.None);
        long received = 0;
        for (var i = 0; i < 4; i++)
        {
            var decoded = TestData.SpanBatch(1, 1, 25);
            var bytes = decoded.ToRequestBytes();
            received += bytes.Length;
            await processor.ConsumeAsync(Batch<ResourceSpans>.FromEncoded(bytes, 25, bytes.Length, null), CancellationToken.None);
        }

        Assert.That(sink.Batches.Select(b => b.ItemCount), Is.EqualTo(new[] { 60, 40 }));
        Assert.That(sink.Batches.Sum(b => b.ByteSize), Is.EqualTo(received), "the shares add up to what was received");
        foreach (var batch in sink.Batches)
        {
            var actual = SignalOps<ResourceSpans>.CalculateRequestSize(batch.Resources);
            Assert.That(batch.ByteSize, Is.InRange(actual * 0.9, actual * 1.1), "each share is close to the piece's encoded size");
        }

        await processor.ShutdownAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_send_in_progress_does_not_hold_up_new_input_and_shutdown_waits_for_every_send()
    {
        var downstream = new GatedConsumer<ResourceSpans>();
        var processor = new BatchProcessor<ResourceSpans>(TestData.Context("batch"), new BatchConfig { SendBatchSize = 3, Timeout = TimeSpan.FromMinutes(5) }, downstream);
        await processor.StartAsync(CancellationToken.None);

        var first = processor.ConsumeAsync(TestData.SpanBatch(1, 1, 3), CancellationToken.None).AsTask();
        await Poll.UntilAsync(() => downstream.Started == 1, TimeSpan.FromSeconds(5), "the size-triggered send reached the exporter");

        // The first send is stuck downstream; new input is still taken at once.
        await processor.ConsumeAsync(TestData.SpanBatch(1, 1, 1), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(first.IsCompleted, Is.False);

        var shutdown = processor.ShutdownAsync(CancellationToken.None);
        await Poll.UntilAsync(() => downstream.Started == 2, TimeSpan.FromSeconds(5), "shutdown's final send of the pending span");
        Assert.That(shutdown.IsCompleted, Is.False, "shutdown waits for the sends under way");

        downstream.Open();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        await shutdown.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(downstream.Items, Is.EqualTo(4));
    }

    [Test]
    public async Task The_caller_that_fills_a_batch_going_away_does_not_fail_the_other_requests_in_it()
    {
        var downstream = new GatedConsumer<ResourceSpans>();
        var processor = new BatchProcessor<ResourceSpans>(TestData.Context("batch"), new BatchConfig { SendBatchSize = 2, Timeout = TimeSpan.FromMinutes(5) }, downstream);
        await processor.StartAsync(CancellationToken.None);
        var earlier = TestData.SpanBatch(1, 1, 1);
        var ack = new DeliveryAck();
        earlier.Acks = [ack];
        await processor.ConsumeAsync(earlier, CancellationToken.None);

        using var cancel = new CancellationTokenSource();
        var filling = processor.ConsumeAsync(TestData.SpanBatch(1, 1, 1), cancel.Token).AsTask();
        await Poll.UntilAsync(() => downstream.Started == 1, TimeSpan.FromSeconds(5), "the size-triggered send reached the exporter");
        await cancel.CancelAsync();
        downstream.Open();
        await filling.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.That(await ack.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.Null, "the earlier request was delivered, not failed");
        Assert.That(downstream.Items, Is.EqualTo(2));
        await processor.ShutdownAsync(CancellationToken.None);
    }

    [Test]
    public async Task Shutdown_flushes_what_is_pending()
    {
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 1000, Timeout = TimeSpan.FromMinutes(5) }, sink);
        await processor.StartAsync(CancellationToken.None);
        await processor.ConsumeAsync(TestData.SpanBatch(1, 1, 7), CancellationToken.None);

        await processor.ShutdownAsync(CancellationToken.None);
        await processor.ShutdownAsync(CancellationToken.None);

        Assert.That(sink.ItemCount, Is.EqualTo(7));
    }

    [Test]
    public async Task Merged_and_split_batches_settle_every_client_ack_exactly_when_all_parts_are_delivered()
    {
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 10, SendBatchMaxSize = 10, Timeout = TimeSpan.FromMinutes(5) }, sink);
        await processor.StartAsync(CancellationToken.None);
        var first = TestData.SpanBatch(1, 1, 4);
        var second = TestData.SpanBatch(1, 1, 15);
        var ack1 = new DeliveryAck();
        var ack2 = new DeliveryAck();
        first.Acks = [ack1];
        second.Acks = [ack2];

        await processor.ConsumeAsync(first, CancellationToken.None);
        Assert.That(ack1.Task.IsCompleted, Is.False, "still pending in the batch");
        await processor.ConsumeAsync(second, CancellationToken.None);

        Assert.That(await ack1.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.Null);
        Assert.That(await ack2.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.Null);
        Assert.That(sink.ItemCount, Is.EqualTo(19));
        await processor.ShutdownAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_batch_arriving_after_shutdown_is_passed_on_not_held()
    {
        var sink = new RecordingConsumer<ResourceSpans>();
        var processor = Create(new BatchConfig { SendBatchSize = 1000, Timeout = TimeSpan.FromMinutes(5) }, sink);
        await processor.StartAsync(CancellationToken.None);
        await processor.ShutdownAsync(CancellationToken.None);

        await processor.ConsumeAsync(TestData.SpanBatch(1, 1, 4), CancellationToken.None);

        Assert.That(sink.ItemCount, Is.EqualTo(4));
    }

    [Test]
    public async Task A_failing_downstream_fails_the_acks_of_every_merged_request()
    {
        var failing = new BatchProcessor<ResourceSpans>(TestData.Context("batch"), new BatchConfig { SendBatchSize = 5, Timeout = TimeSpan.FromMinutes(5) }, new ThrowingConsumer<ResourceSpans>());
        await failing.StartAsync(CancellationToken.None);
        var first = TestData.SpanBatch(1, 1, 3);
        var second = TestData.SpanBatch(1, 1, 3);
        var ack1 = new DeliveryAck();
        var ack2 = new DeliveryAck();
        first.Acks = [ack1];
        second.Acks = [ack2];

        await failing.ConsumeAsync(first, CancellationToken.None);
        await Assert.CatchAsync<InvalidOperationException>(async () => await failing.ConsumeAsync(second, CancellationToken.None));

        Assert.That(await ack1.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo("internal error"));
        Assert.That(await ack2.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo("internal error"));
        await failing.ShutdownAsync(CancellationToken.None);
    }
}
