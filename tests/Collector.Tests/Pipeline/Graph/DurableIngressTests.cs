using System.Net;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Graph;
using Collector.Pipeline.Telemetry;
using Collector.Tests.Durable;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Core;

/// <summary>
/// service.pipelines.&lt;id&gt;.durability: the door's write-ahead log. The client is answered after the
/// commit, not after processors that hold data; rows are released on delivery and replayed at start.
/// </summary>
[NonParallelizable]
public sealed class DurableIngressTests : DurableTestBase
{
    private static readonly (string, string) TracesPipeline = ("pipeline", "traces");

    private string LogDir => Path.Combine(Dir, "ingress");

    /// <summary>otlp/HTTP -> batch (holding for <paramref name="batchTimeout"/>) -> otlphttp (no spool) with a durable door.</summary>
    private string Yaml(int receiverPort, int backendPort, string batchTimeout = "200ms", string durabilityExtra = "", string shutdownTimeout = "10s") => $$"""
        receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{receiverPort}}" } } } }
        processors: { batch: { timeout: {{batchTimeout}}, send_batch_size: 100000 } }
        exporters:
          otlphttp:
            endpoint: "http://127.0.0.1:{{backendPort}}"
            compression: none
            timeout: 2s
            retry_on_failure: { initial_interval: 50ms, max_interval: 200ms, randomization_factor: 0 }
        service:
          shutdown_timeout: {{shutdownTimeout}}
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines:
            traces:
              receivers: [otlp]
              processors: [batch]
              exporters: [otlphttp]
              durability: { directory: "{{LogDir}}", max_size_mib: 8 {{durabilityExtra}} }
        """;

    private static double Ingress(RunningCollector collector, string name, params (string Key, string Value)[] labels) =>
        collector.Host.Metrics.Read(name, [TracesPipeline, .. labels]);

    [Test]
    public async Task The_client_is_answered_after_the_commit_while_batch_still_holds_the_data_and_the_row_goes_after_delivery()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        var receiver = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(receiver, new Uri(backend.BaseUrl).Port, batchTimeout: "3s"));
        using var client = new OtlpClient(receiver);

        Assert.That(await client.SendAsync(spans: 5), Is.EqualTo(HttpStatusCode.OK));

        // Answered while batch holds the spans (3 s): nothing has reached the backend, the row is on disk.
        Assert.Multiple(() =>
        {
            Assert.That(backend.Calls, Is.Empty, "the answer did not wait for the batch timeout");
            Assert.That(Ingress(collector, "collector_ingress_appended_spans_total"), Is.EqualTo(5));
            Assert.That(Ingress(collector, "collector_spool_batches"), Is.EqualTo(1), "the request is in the log");
        });

        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(client.Acked), Deadline, "the spans delivered after the batch timeout");
        await Poll.UntilAsync(() => Ingress(collector, "collector_ingress_released_spans_total") == 5, Deadline, "the row released after delivery");
        Assert.That(Ingress(collector, "collector_spool_batches"), Is.EqualTo(0));
    }

    [Test]
    public async Task What_was_not_delivered_before_shutdown_is_replayed_through_the_processors_at_the_next_start()
    {
        var receiver = Ports.Free();
        var backendPort = Ports.Free();
        using var client = new OtlpClient(receiver);

        // Backend down: the exporter (no spool) retries until shutdown stops it; the rows stay.
        await using (var first = await RunningCollector.StartAsync(Yaml(receiver, backendPort, shutdownTimeout: "1s")))
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.That(await client.SendAsync(spans: 10), Is.EqualTo(HttpStatusCode.OK));
            }

            await first.Host.StopAsync(TimeSpan.FromSeconds(1));
            Assert.That(Ingress(first, "collector_ingress_retained_spans_total"), Is.EqualTo(40), "every undelivered request kept for replay");
            Assert.That(Ingress(first, "collector_ingress_released_spans_total"), Is.EqualTo(0));
        }

        await using var backend = await HttpTestBackend.StartAsync(backendPort);
        await using var second = await RunningCollector.StartAsync(Yaml(receiver, backendPort));
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(client.Acked), Deadline, "every acknowledged span after the restart");
        await Poll.UntilAsync(() => Ingress(second, "collector_ingress_released_spans_total") == 40, Deadline, "the replayed rows released");
        Assert.Multiple(() =>
        {
            Assert.That(Ingress(second, "collector_ingress_replayed_spans_total"), Is.EqualTo(40));
            Assert.That(received.Total, Is.EqualTo(40), "each replayed span delivered once");
        });
    }

    [Test]
    public async Task A_log_that_cannot_commit_refuses_the_request_instead_of_answering_ok()
    {
        // A path under a regular file cannot hold the log; degrade starts anyway, and every commit fails.
        File.WriteAllText(Path.Combine(Dir, "not-a-dir"), "x");
        var receiver = Ports.Free();
        await using var backend = await HttpTestBackend.StartAsync();
        var yaml = Yaml(receiver, new Uri(backend.BaseUrl).Port).Replace(LogDir, Path.Combine(Dir, "not-a-dir", "ingress"), StringComparison.Ordinal)
            .Replace("max_size_mib: 8 ", "max_size_mib: 8, on_unavailable: degrade ", StringComparison.Ordinal);
        await using var collector = await RunningCollector.StartAsync(yaml);
        using var client = new OtlpClient(receiver);

        Assert.That(await client.SendAsync(spans: 3), Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.Multiple(() =>
        {
            Assert.That(Ingress(collector, "collector_ingress_refused_spans_total", ("reason", "log_error")), Is.EqualTo(3));
            Assert.That(client.Acked, Is.Empty);
            Assert.That(backend.Calls, Is.Empty, "nothing refused goes on");
        });
    }

    [Test]
    public async Task A_full_log_refuses_with_503_and_takes_requests_again_once_rows_are_released()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiver = Ports.Free();
        var yaml = Yaml(receiver, new Uri(backend.BaseUrl).Port).Replace("max_size_mib: 8", "max_size_mib: 1", StringComparison.Ordinal);
        await using var collector = await RunningCollector.StartAsync(yaml);
        using var client = new OtlpClient(receiver);

        HttpStatusCode? status = HttpStatusCode.OK;
        for (var i = 0; i < 200 && status == HttpStatusCode.OK; i++)
        {
            status = await client.SendAsync(spans: 10, payloadBytes: 2000);
        }

        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a 1 MiB log fills with 20 kB requests while the backend holds");
        Assert.That(Ingress(collector, "collector_ingress_refused_spans_total", ("reason", "log_full")), Is.GreaterThan(0));

        backend.Gate.SetResult();
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(client.Acked), Deadline, "every acknowledged span once the backend answers");
        await Poll.UntilAsync(() => Ingress(collector, "collector_spool_batches") == 0, Deadline, "the rows released after delivery");
        Assert.That(await client.SendAsync(spans: 1), Is.EqualTo(HttpStatusCode.OK), "requests are taken again");
    }

    [Test]
    public void Durability_keys_are_validated_with_their_path()
    {
        var yaml = Yaml(Ports.Free(), Ports.Free()).Replace($"directory: \"{LogDir}\", max_size_mib: 8", "max_size_mib: 0, mode: fast", StringComparison.Ordinal);

        var loaded = ConfigLoader.Load(yaml, CollectorComponents.CreateRegistry(), _ => null);

        Assert.That(loaded.Errors, Is.SupersetOf(new[]
        {
            "service.pipelines.traces.durability.directory: is required",
            "service.pipelines.traces.durability.max_size_mib: must be >= 1",
        }));
        Assert.That(loaded.Errors, Has.Some.StartsWith("service.pipelines.traces.durability.mode"));
    }

    [Test]
    public void Validate_reports_a_log_directory_that_cannot_hold_the_file()
    {
        File.WriteAllText(Path.Combine(Dir, "file"), "x");
        var yaml = Yaml(Ports.Free(), Ports.Free()).Replace(LogDir, Path.Combine(Dir, "file", "ingress"), StringComparison.Ordinal);
        var loaded = ConfigLoader.Load(yaml, CollectorComponents.CreateRegistry(), _ => null);
        Assert.That(loaded.Errors, Is.Empty);

        var problems = ConfigLoader.CheckEnvironment(loaded.Config!);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.StartWith("service.pipelines.traces.durability.directory: "));
    }

    [Test]
    public async Task A_log_that_cannot_be_opened_stops_the_start_with_one_line_naming_the_key()
    {
        File.WriteAllText(Path.Combine(Dir, "file"), "x");
        var yaml = Yaml(Ports.Free(), Ports.Free()).Replace(LogDir, Path.Combine(Dir, "file", "ingress"), StringComparison.Ordinal);
        var registry = CollectorComponents.CreateRegistry();
        var loaded = ConfigLoader.Load(yaml, registry, _ => null);
        await using var host = new CollectorHost(loaded.Config!, registry, Serilog.Core.Logger.None);

        var error = await Assert.CatchAsync<Exception>(() => host.StartAsync(CancellationToken.None));

        Assert.That(error!.Message, Does.StartWith("service.pipelines.traces.durability.directory: "));
        Assert.That(error.Message, Does.Not.Contain('\n'));
    }

    [Test]
    public async Task A_request_the_full_pipeline_refuses_after_the_commit_leaves_no_row_behind()
    {
        var metrics = new SelfMetrics();
        var id = new PipelineId(Signal.Traces, "");
        var log = IngressLog<ResourceSpans>.Open(id, new DurabilityConfig { Directory = LogDir }, metrics, Serilog.Core.Logger.None);
        var downstream = new GatedConsumer<ResourceSpans>();
        var entry = new PipelineEntry<ResourceSpans>(id, new PipelineConfig { QueueSize = 1, SubmitTimeout = TimeSpan.FromMilliseconds(50) }, downstream, [], durable: false, metrics, Serilog.Core.Logger.None, log);
        entry.Start();

        var outcomes = new List<SubmitStatus>();
        for (var i = 0; i < 4; i++)
        {
            outcomes.Add((await entry.SubmitAsync(TestData.SpanBatch(1, 1, 2), CancellationToken.None)).Status);
        }

        var accepted = outcomes.Count(s => s == SubmitStatus.Accepted);
        Assert.That(outcomes, Does.Contain(SubmitStatus.Refused), "channel of 1 plus one batch held by the chain");
        await Poll.UntilAsync(() => log.Outstanding == accepted, Deadline, "refused requests' rows withdrawn");
        Assert.That(metrics.Read("collector_spool_batches", TracesPipeline), Is.EqualTo(accepted), "only accepted requests stay in the log");

        downstream.Open();
        await entry.DrainAsync(CancellationToken.None);
        await log.CloseAsync(CancellationToken.None);
        Assert.That(metrics.Read("collector_ingress_released_spans_total", TracesPipeline), Is.EqualTo(2 * 4), "accepted ones delivered, refused ones withdrawn");
    }

    [Test]
    public async Task A_processor_that_throws_after_the_answer_leaves_the_request_in_the_log_for_the_next_start()
    {
        var metrics = new SelfMetrics();
        var id = new PipelineId(Signal.Traces, "");
        var config = new DurabilityConfig { Directory = LogDir };
        var log = IngressLog<ResourceSpans>.Open(id, config, metrics, Serilog.Core.Logger.None);
        var entry = new PipelineEntry<ResourceSpans>(id, new PipelineConfig(), new ThrowingConsumer<ResourceSpans>(() => new OutOfMemoryException("a processor ran out of memory")), [], durable: false, metrics, Serilog.Core.Logger.None, log);
        entry.Start();

        Assert.That((await entry.SubmitAsync(TestData.SpanBatch(1, 1, 3), CancellationToken.None)).Status, Is.EqualTo(SubmitStatus.Accepted));
        await entry.DrainAsync(CancellationToken.None);
        await log.CloseAsync(CancellationToken.None);
        Assert.That(metrics.Read("collector_ingress_retained_spans_total", TracesPipeline), Is.EqualTo(3), "out of memory in a processor loses nothing acknowledged");

        // The next start replays it.
        var next = new SelfMetrics();
        var reopened = IngressLog<ResourceSpans>.Open(id, config, next, Serilog.Core.Logger.None);
        var downstream = new RecordingConsumer<ResourceSpans>();
        var again = new PipelineEntry<ResourceSpans>(id, new PipelineConfig(), downstream, [], durable: false, next, Serilog.Core.Logger.None, reopened);
        again.Start();
        await Poll.UntilAsync(() => next.Read("collector_ingress_released_spans_total", TracesPipeline) == 3, Deadline, "the request replayed and released");
        await again.DrainAsync(CancellationToken.None);
        await reopened.CloseAsync(CancellationToken.None);
        Assert.That(downstream.Batches.Sum(b => b.ItemCount), Is.EqualTo(3));
    }

    [Test]
    public async Task Replay_waits_while_an_admission_gate_refuses_and_counts_no_refusal()
    {
        var id = new PipelineId(Signal.Traces, "");
        var config = new DurabilityConfig { Directory = LogDir };
        var first = new SelfMetrics();
        var log = IngressLog<ResourceSpans>.Open(id, config, first, Serilog.Core.Logger.None);
        var stuck = new PipelineEntry<ResourceSpans>(id, new PipelineConfig(), new ThrowingConsumer<ResourceSpans>(), [], durable: false, first, Serilog.Core.Logger.None, log);
        stuck.Start();
        for (var i = 0; i < 3; i++)
        {
            await stuck.SubmitAsync(TestData.SpanBatch(1, 1, 2), CancellationToken.None);
        }

        await stuck.DrainAsync(CancellationToken.None);
        await log.CloseAsync(CancellationToken.None);

        var metrics = new SelfMetrics();
        var reopened = IngressLog<ResourceSpans>.Open(id, config, metrics, Serilog.Core.Logger.None);
        var gate = new SwitchGate { Refusing = true };
        var downstream = new RecordingConsumer<ResourceSpans>();
        var entry = new PipelineEntry<ResourceSpans>(id, new PipelineConfig(), downstream, [gate], durable: false, metrics, Serilog.Core.Logger.None, reopened);
        entry.Start();

        // While the gate refuses (a full exporter queue), nothing is replayed and nothing counted refused.
        var waitUntil = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        while (DateTime.UtcNow < waitUntil)
        {
            Assert.That(downstream.Batches, Is.Empty, "replay held back by the refusing gate");
            await Task.Delay(20);
        }

        Assert.That(gate.Checked, Is.Zero, "replay asks IsRefusing, which counts nothing, never CheckAdmission");
        gate.Refusing = false;
        await Poll.UntilAsync(() => downstream.Batches.Count == 3, Deadline, "the entries replayed once the gate admits");
        await entry.DrainAsync(CancellationToken.None);
        await reopened.CloseAsync(CancellationToken.None);
        Assert.That(metrics.Read("collector_ingress_replayed_spans_total", TracesPipeline), Is.EqualTo(6));
    }

    [Test]
    public async Task A_corrupt_log_at_start_is_moved_aside_and_the_pipeline_takes_requests()
    {
        Directory.CreateDirectory(LogDir);
        var garbage = new byte[64 * 1024];
        Random.Shared.NextBytes(garbage);
        await File.WriteAllBytesAsync(Path.Combine(LogDir, "ingress_traces.spool.db"), garbage);
        await using var backend = await HttpTestBackend.StartAsync();
        var receiver = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(receiver, new Uri(backend.BaseUrl).Port));
        using var client = new OtlpClient(receiver);

        Assert.That(await client.SendAsync(spans: 4), Is.EqualTo(HttpStatusCode.OK));

        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(client.Acked), Deadline, "delivery through the replaced log");
        Assert.That(Directory.GetFiles(LogDir, "ingress_traces.spool.db.corrupt-*"), Has.Length.EqualTo(1), "the damaged file is kept aside");
    }

    [Test]
    public void Exporters_settle_delivery_acks_only_when_they_deliver_and_answer_acks_when_they_take()
    {
        var answer = new DeliveryAck();
        var delivery = new DeliveryAck(waitsForDelivery: true);
        var batch = TestData.SpanBatch(1, 1, 1);
        batch.Acks = [answer, delivery];

        batch.SettleTaken();
        Assert.That(answer.Task.IsCompleted, Is.True, "an answer ack completes when an exporter queues the batch");
        Assert.That(delivery.Task.IsCompleted, Is.False, "a delivery ack waits for the send");

        batch.FailDelivery("exporter is shutting down");
        Assert.Multiple(() =>
        {
            Assert.That(answer.Task.Result, Is.Null, "the answer already given is not taken back");
            Assert.That(delivery.Task.Result, Is.EqualTo("exporter is shutting down"));
        });
    }

    /// <summary>An admission gate the test opens and closes; counts CheckAdmission calls (the door's, which count refusals).</summary>
    private sealed class SwitchGate : IAdmissionControl
    {
        private int _checked;

        public bool Refusing { get; set; }

        public int Checked => Volatile.Read(ref _checked);

        public bool IsRefusing => Refusing;

        public string? CheckAdmission(long incomingBytes)
        {
            Interlocked.Increment(ref _checked);
            return Refusing ? "exporter queue full" : null;
        }
    }
}
