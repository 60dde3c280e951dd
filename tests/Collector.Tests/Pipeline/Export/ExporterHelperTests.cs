using System.Diagnostics;
using Collector.Exporters.OtlpHttp;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog.Events;

namespace Collector.Tests.Exporters;

/// <summary>Queue, acks and shutdown behaviour of the exporter helper, through the otlphttp exporter and a real backend.</summary>
public sealed class ExporterHelperTests : ExporterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly OtlpHttpExporterFactory _factory = new();

    private static OtlpHttpExporterConfig Config(string endpoint, int queueSize = 10, QueueOnFull onFull = QueueOnFull.Reject)
    {
        var config = new OtlpHttpExporterConfig { Endpoint = endpoint };
        ExporterTestKit.FastRetry(config);
        config.SendingQueue.QueueSize = queueSize;
        config.SendingQueue.OnFull = onFull;
        return config;
    }

    private double Gauge(string name) => Kit.Metrics.Read(name, ("exporter", Kit.Id), ("data_type", "traces"));

    [Test]
    public async Task With_on_full_drop_a_full_queue_drops_and_counts_without_blocking_and_settles_acks()
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl, queueSize: 1, onFull: QueueOnFull.Drop));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "the consumer to hold the first batch at the backend");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        var dropped = ExporterTestKit.Spans(4);
        var ack = new DeliveryAck();
        dropped.Acks = [ack];
        var consume = exporter.ConsumeAsync(dropped, CancellationToken.None);

        Assert.That(consume.IsCompleted, Is.True, "ConsumeAsync must not wait for room");
        Assert.That(Kit.Failed("queue_full"), Is.EqualTo(4));
        Assert.That(ack.Task.IsCompleted && ack.Task.Result is null, Is.True, "a dropped batch settles its acks");
        Assert.That(Gauge("collector_exporter_queue_size"), Is.EqualTo(1));
        Assert.That(Gauge("collector_exporter_queue_capacity"), Is.EqualTo(1));
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("queue full"));

        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() == 5, Deadline, "the held and queued batches to be delivered");
        Assert.That(Gauge("collector_exporter_queue_size"), Is.Zero);
    }

    /// <summary>An encoded batch as a receiver makes it (ByteSize = the request's length), each span carrying a large prompt.</summary>
    private static Batch<ResourceSpans> EncodedSpans(int count, string prefix, int promptChars)
    {
        var decoded = ExporterTestKit.Spans(count, prefix);
        foreach (var span in decoded.Resources[0].ScopeSpans[0].Spans)
        {
            span.Attributes.Add(new KeyValue { Key = "gen_ai.prompt", Value = new AnyValue { StringValue = new string('x', promptChars) } });
        }

        var bytes = decoded.ToRequestBytes();
        return Batch<ResourceSpans>.FromEncoded(bytes, count, bytes.Length, null);
    }

    [Test]
    public async Task With_on_full_drop_a_byte_sized_queue_never_holds_more_than_queue_size_bytes_behind_a_slow_backend_and_counts_the_excess()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(200, Delay: TimeSpan.FromMilliseconds(200)), times: 1000);
        var config = Config(backend.BaseUrl, onFull: QueueOnFull.Drop);
        config.SendingQueue.Sizer = QueueSizer.Bytes;
        config.SendingQueue.QueueSize = SendingQueueConfig.MinQueueBytes;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        const int batches = 40;
        const int spansPerBatch = 10;

        // 40 batches of ~128 KiB (5 MiB) arrive at once; the backend takes one every 200 ms.
        var maxQueued = 0.0;
        long batchBytes = 0;
        for (var i = 0; i < batches; i++)
        {
            var batch = EncodedSpans(spansPerBatch, $"b{i:00}", promptChars: 12_800);
            batchBytes = batch.ByteSize;
            await exporter.ConsumeAsync(batch, CancellationToken.None);
            maxQueued = Math.Max(maxQueued, Gauge("collector_exporter_queue_bytes"));
        }

        await Poll.UntilAsync(
            () =>
            {
                maxQueued = Math.Max(maxQueued, Gauge("collector_exporter_queue_bytes"));
                return Kit.Sent() + Kit.Failed("queue_full") == batches * spansPerBatch;
            },
            Deadline,
            "every span delivered or counted queue_full");

        var bound = (double)SendingQueueConfig.MinQueueBytes;
        Assert.Multiple(() =>
        {
            Assert.That(batchBytes, Is.InRange(100_000, 200_000), "test batches of ~128 KiB");
            Assert.That(maxQueued, Is.LessThanOrEqualTo(bound), "queued bytes never exceed queue_size");
            Assert.That(maxQueued, Is.GreaterThan(bound - batchBytes), "the queue filled to within one batch of its bound");
            Assert.That(Kit.Failed("queue_full"), Is.GreaterThan(0), "the excess is counted");
            Assert.That(Kit.Failed("queue_full") % spansPerBatch, Is.Zero, "whole batches");
            Assert.That(Kit.Sent(), Is.GreaterThanOrEqualTo((long)(bound / batchBytes) * spansPerBatch), "what fitted was delivered");
            Assert.That(Gauge("collector_exporter_queue_capacity"), Is.EqualTo(bound), "capacity in the sizer's unit");
            Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("queue full"));
        });
        await Poll.UntilAsync(() => Gauge("collector_exporter_queue_bytes") == 0 && Gauge("collector_exporter_queue_size") == 0, Deadline, "the gauges back to 0");
    }

    [Test]
    public async Task With_on_full_drop_an_item_sized_queue_counts_items_waiting_and_refuses_a_batch_larger_than_the_whole_queue()
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = Config(backend.BaseUrl, onFull: QueueOnFull.Drop);
        config.SendingQueue.Sizer = QueueSizer.Items;
        config.SendingQueue.QueueSize = 5;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "the consumer to hold the first batch at the backend");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        Assert.That(Kit.Failed("queue_full"), Is.EqualTo(3), "3 waiting + 3 > 5 (the batch in flight does not count)");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        Assert.That(Kit.Failed("queue_full"), Is.EqualTo(3), "3 + 2 fits exactly");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);
        Assert.That(Kit.Failed("queue_full"), Is.EqualTo(4));
        Assert.That(Gauge("collector_exporter_queue_size"), Is.EqualTo(2), "batches waiting");
        Assert.That(Gauge("collector_exporter_queue_bytes"), Is.Zero, "decoded test batches of unknown size are not measured by the items sizer");

        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() == 7, Deadline, "the held and queued batches to be delivered");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(6), CancellationToken.None);
        Assert.That(Kit.Failed("queue_full"), Is.EqualTo(10), "6 items never fit a queue of 5, even empty");
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("larger than the whole sending queue"));
    }

    [Test]
    public async Task Shutdown_drains_the_queue()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(200, Delay: TimeSpan.FromMilliseconds(100)), times: 5);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl));
        for (var i = 0; i < 5; i++)
        {
            await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        }

        using var budget = new CancellationTokenSource(Deadline);
        await exporter.ShutdownAsync(budget.Token);

        Assert.That(backend.Calls, Has.Count.EqualTo(5));
        Assert.That(Kit.Sent(), Is.EqualTo(10));
        Assert.That(Kit.Failed("shutdown"), Is.Zero);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        Assert.That(Kit.Failed("shutdown"), Is.EqualTo(3), "batches after shutdown are dropped and counted");
    }

    [Test]
    public async Task Shutdown_out_of_time_counts_what_is_left_as_shutdown()
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl));
        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "one batch in flight");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        var watch = Stopwatch.StartNew();
        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await exporter.ShutdownAsync(budget.Token);

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(Kit.Failed("shutdown"), Is.EqualTo(6), "the in-flight and the queued batches");
        Assert.That(Kit.Sent(), Is.Zero);
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("at shutdown"));
        backend.Gate.SetResult();
    }

    [Test]
    public async Task Disabled_queue_sends_in_the_caller()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503));
        var config = Config(backend.BaseUrl);
        config.SendingQueue.Enabled = false;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        Assert.That(backend.Calls, Has.Count.EqualTo(2), "delivered, with its retry, before ConsumeAsync returned");
        Assert.That(Kit.Sent(), Is.EqualTo(2));
        Assert.That(Kit.Metrics.Read("collector_exporter_queue_capacity", ("exporter", Kit.Id), ("data_type", "traces")), Is.Zero, "no queue, no queue gauges");
    }

    [Test]
    public async Task Shutdown_before_start_is_safe_twice_and_counts_queued_batches()
    {
        var exporter = _factory.CreateExporter<ResourceSpans>(Kit.Context, Config("http://127.0.0.1:9"));
        var batch = ExporterTestKit.Spans(2);
        var ack = new DeliveryAck();
        batch.Acks = [ack];
        await exporter.ConsumeAsync(batch, CancellationToken.None);

        await exporter.ShutdownAsync(CancellationToken.None);
        await exporter.ShutdownAsync(CancellationToken.None);

        Assert.That(Kit.Failed("shutdown"), Is.EqualTo(2));
        Assert.That(await ack.Task, Is.Null, "acks settle when the batch is taken");
        Assert.That(exporter.MutatesData, Is.False);
        Assert.That(exporter.RequiresDurableAck, Is.False);
    }
}
