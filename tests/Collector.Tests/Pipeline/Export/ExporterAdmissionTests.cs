using Collector.Exporters.OtlpHttp;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog.Events;

namespace Collector.Tests.Exporters;

/// <summary>
/// The exporter helper as an admission gate (<c>sending_queue.on_full</c>), through the otlphttp
/// exporter and a real backend: a full queue refuses at the door under reject and never drops what
/// was admitted; drop keeps the old behaviour; a spool takes the overflow first.
/// </summary>
public sealed class ExporterAdmissionTests : ExporterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly OtlpHttpExporterFactory _factory = new();
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("collector-admission-").FullName;

    [TearDown]
    public async Task DeleteDirectory()
    {
        // Exporters close their spool files first (the base teardown would run after this one).
        await StopAll();
        Directory.Delete(_dir, recursive: true);
    }

    private static OtlpHttpExporterConfig Config(string endpoint, QueueSizer sizer, long queueSize, QueueOnFull onFull)
    {
        var config = new OtlpHttpExporterConfig { Endpoint = endpoint, Compression = Collector.Exporters.Shared.OtlpCompression.None };
        ExporterTestKit.FastRetry(config);
        config.SendingQueue.Sizer = sizer;
        config.SendingQueue.QueueSize = queueSize;
        config.SendingQueue.OnFull = onFull;
        return config;
    }

    /// <summary>Two spans; with the bytes sizer an encoded batch of ~300 KiB (three fit a 1 MiB queue, not four).</summary>
    private static Batch<ResourceSpans> Batch(QueueSizer sizer, int index)
    {
        var batch = ExporterTestKit.Spans(2, $"b{index:00}");
        if (sizer != QueueSizer.Bytes)
        {
            return batch;
        }

        foreach (var span in batch.Resources[0].ScopeSpans[0].Spans)
        {
            span.Attributes.Add(new KeyValue { Key = "gen_ai.prompt", Value = new AnyValue { StringValue = new string('x', 150_000) } });
        }

        var bytes = batch.ToRequestBytes();
        return Batch<ResourceSpans>.FromEncoded(bytes, 2, bytes.Length, null);
    }

    private long Refusals(string reason) =>
        (long)Kit.Metrics.Read("collector_exporter_admission_refused_requests_total", ("exporter", Kit.Id), ("data_type", "traces"), ("reason", reason));

    private long Overfilled => (long)Kit.Metrics.Read("collector_exporter_queue_overfilled_spans_total", ("exporter", Kit.Id));

    private static IAdmissionControl Gate(IExporter<ResourceSpans> exporter) => (IAdmissionControl)exporter;

    /// <summary>queue_size per sizer: 2 batches, 4 items (2 batches of 2), 1 MiB (3 batches of ~300 KiB and room left, so full only once one does not fit).</summary>
    [TestCase(QueueSizer.Requests, 2, 2)]
    [TestCase(QueueSizer.Items, 4, 2)]
    [TestCase(QueueSizer.Bytes, SendingQueueConfig.MinQueueBytes, 4)]
    public async Task Under_reject_a_full_queue_refuses_at_the_door_keeps_what_was_admitted_and_admits_again_once_drained(
        QueueSizer sizer, long queueSize, int admittedUntilFull)
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl, sizer, queueSize, QueueOnFull.Reject));
        await exporter.ConsumeAsync(Batch(sizer, 0), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "the consumer to hold the first batch at the backend");

        var admitted = 0;
        while (Gate(exporter).CheckAdmission(0) is null && admitted < 10)
        {
            await exporter.ConsumeAsync(Batch(sizer, ++admitted), CancellationToken.None);
        }

        var reason = Gate(exporter).CheckAdmission(0);

        // A batch admitted before the queue filled (it was in the pipeline) arrives now: kept, not dropped;
        // a durable door's delivery ack settles when it is sent, as for any queued batch.
        var late = Batch(sizer, ++admitted);
        var lateDelivery = new DeliveryAck(waitsForDelivery: true);
        late.Acks = [lateDelivery];
        await exporter.ConsumeAsync(late, CancellationToken.None);
        var queued = Kit.Metrics.Read("collector_exporter_queue_size", ("exporter", Kit.Id), ("data_type", "traces"));
        Assert.Multiple(() =>
        {
            Assert.That(admitted - 1, Is.EqualTo(admittedUntilFull), "admitted until the queue was full in the sizer's unit");
            Assert.That(reason, Is.EqualTo($"exporter {Kit.Id}: sending queue full"));
            Assert.That(Refusals("queue_full"), Is.EqualTo(2), "each refused request counted");
            Assert.That(Kit.Failed("queue_full"), Is.Zero, "nothing admitted is dropped");
            Assert.That(Overfilled, Is.EqualTo(sizer == QueueSizer.Bytes ? 4 : 2), "queued above queue_size and counted");
            Assert.That(queued, Is.EqualTo(admitted), "every admitted batch waits");
            Assert.That(lateDelivery.Task.IsCompleted, Is.False, "not delivered yet");
            Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("at the pipeline door").And.Contains("queue_full"), "logged once");
        });

        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() == 2L * (admitted + 1), Deadline, "every admitted span delivered");
        Assert.That(await lateDelivery.Task.WaitAsync(Deadline), Is.Null, "delivered");
        Assert.That(Gate(exporter).CheckAdmission(0), Is.Null, "a drained queue admits again");
    }

    [TestCase(QueueSizer.Requests, 1)]
    [TestCase(QueueSizer.Items, 2)]
    [TestCase(QueueSizer.Bytes, SendingQueueConfig.MinQueueBytes)]
    public async Task Under_drop_a_full_queue_never_refuses_at_the_door_and_drops_and_counts_the_overflow(QueueSizer sizer, long queueSize)
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl, sizer, queueSize, QueueOnFull.Drop));
        await exporter.ConsumeAsync(Batch(sizer, 0), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "the consumer to hold the first batch at the backend");

        for (var i = 1; i <= 6; i++)
        {
            Assert.That(Gate(exporter).CheckAdmission(0), Is.Null, "drop never pushes back");
            await exporter.ConsumeAsync(Batch(sizer, i), CancellationToken.None);
        }

        Assert.Multiple(() =>
        {
            Assert.That(Kit.Failed("queue_full"), Is.GreaterThan(0), "the overflow is dropped");
            Assert.That(Overfilled, Is.Zero);
            Assert.That(Refusals("queue_full"), Is.Zero);
        });
        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() + Kit.Failed("queue_full") == 14, Deadline, "every span delivered or counted dropped");
    }

    [Test]
    public async Task With_an_on_failure_spool_the_door_admits_while_the_spool_takes_the_overflow_and_refuses_once_it_is_full()
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = Config(backend.BaseUrl, QueueSizer.Requests, 1, QueueOnFull.Reject);

        // The held attempt must not time out while the test fills the spool (that would free the queue).
        config.Timeout = TimeSpan.FromSeconds(60);
        config.SendingQueue.Spool = new SpoolConfig { Directory = _dir, Durability = SpoolDurability.OnFailure, MaxSizeMib = 1, OnFull = SpoolOnFull.Reject };
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(200), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "the consumer to hold the first batch at the backend");

        // The queue (1 batch) is full at once; the spool takes the overflow until its 1 MiB is used.
        var consumed = 200L;
        string? reason = null;
        var deliveries = new List<DeliveryAck>();
        for (var i = 0; i < 400 && reason is null; i++)
        {
            reason = Gate(exporter).CheckAdmission(0);
            if (reason is null)
            {
                var batch = ExporterTestKit.Spans(200);
                var delivery = new DeliveryAck(waitsForDelivery: true);
                batch.Acks = [delivery];
                deliveries.Add(delivery);
                await exporter.ConsumeAsync(batch, CancellationToken.None);
                consumed += 200;
            }
        }

        var spooled = Kit.Metrics.Read("collector_exporter_spooled_spans_total", ("exporter", Kit.Id));
        Assert.Multiple(() =>
        {
            Assert.That(reason, Is.EqualTo($"exporter {Kit.Id}: sending queue and spool full"));
            Assert.That(spooled, Is.GreaterThanOrEqualTo(1000), "the spool took the overflow while it had room");
            Assert.That(Overfilled, Is.EqualTo(200), "the batch the full spool refused waits in memory");
            Assert.That(Kit.Failed("spool_full") + Kit.Failed("queue_full"), Is.Zero, "nothing admitted is dropped");
            Assert.That(Refusals("spool_full"), Is.EqualTo(1));
            Assert.That(deliveries[^1].Task.IsCompleted, Is.False, "the batch kept in memory settles its delivery ack when sent");
            Assert.That(deliveries[^2].Task.IsCompletedSuccessfully && deliveries[^2].Task.Result is null, Is.True, "a spooled batch settled its delivery ack when spooled");
        });

        backend.Gate.SetResult();
        await Poll.UntilAsync(
            () => Kit.Sent() == consumed && Kit.Metrics.Read("collector_spool_items", ("exporter", Kit.Id)) == 0,
            Deadline,
            "every admitted span delivered, the spooled ones replayed");
        Assert.That(await deliveries[^1].Task.WaitAsync(Deadline), Is.Null);
        Assert.That(Gate(exporter).CheckAdmission(0), Is.Null, "room again");
    }

    [Test]
    public async Task With_a_spool_that_cannot_be_used_a_full_queue_refuses_at_the_door_and_keeps_the_overflow_in_memory()
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(blocker, "not a directory");
        var config = Config(backend.BaseUrl, QueueSizer.Requests, 1, QueueOnFull.Reject);
        config.Timeout = TimeSpan.FromSeconds(60);
        config.SendingQueue.Spool = new SpoolConfig
        {
            Directory = Path.Combine(blocker, "spool"),
            Durability = SpoolDurability.OnFailure,
            OnUnavailable = SpoolOnUnavailable.Degrade,
        };
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "the consumer to hold the first batch at the backend");
        Assert.That(Gate(exporter).CheckAdmission(0), Is.Null, "room for one batch");
        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        var reason = Gate(exporter).CheckAdmission(0);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(reason, Is.EqualTo($"exporter {Kit.Id}: sending queue full and spool unavailable"));
            Assert.That(Refusals("spool_unavailable"), Is.EqualTo(1));
            Assert.That(Overfilled, Is.EqualTo(2), "the batch the spool could not take waits in memory");
            Assert.That(Kit.Metrics.Sum("collector_exporter_send_failed_spans_total", ("exporter", Kit.Id)), Is.Zero);
        });
        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() == 6, Deadline, "every admitted span delivered");
    }

    [Test]
    public async Task Without_a_queue_the_caller_sends_and_nothing_is_refused()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl, QueueSizer.Requests, 1, QueueOnFull.Reject);
        config.SendingQueue.Enabled = false;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        Assert.That(Gate(exporter).CheckAdmission(0), Is.Null);
        Assert.That(Kit.Sent(), Is.EqualTo(2));
    }
}
