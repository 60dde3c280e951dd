using Collector.Exporters.OtlpHttp;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Spool;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog.Events;

namespace Collector.Tests.Durable;

/// <summary>The exporter helper with a real spool file and a real backend: replay order, interleaving, degraded spool.</summary>
public sealed class ExporterSpoolTests : ExporterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly OtlpHttpExporterFactory _factory = new();
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("collector-spool-helper-").FullName;

    [TearDown]
    public async Task DeleteDirectory()
    {
        // Exporters close their spool files first (the base teardown would run after this one).
        await StopAll();
        Directory.Delete(_dir, recursive: true);
    }

    private static OtlpHttpExporterConfig Config(string endpoint, string directory, SpoolDurability durability)
    {
        var config = new OtlpHttpExporterConfig { Endpoint = endpoint, Compression = Collector.Exporters.Shared.OtlpCompression.None };
        ExporterTestKit.FastRetry(config);
        config.SendingQueue.Spool = new SpoolConfig { Directory = directory, Durability = durability };
        return config;
    }

    /// <summary>The first span name of every call the backend got, in arrival order.</summary>
    private static List<string> CallNames(HttpTestBackend backend) =>
        backend.Calls.Select(c => ExportTraceServiceRequest.Parser.ParseFrom(c.Body).ResourceSpans[0].ScopeSpans[0].Spans[0].Name).ToList();

    [Test]
    public async Task Replay_is_oldest_first_and_interleaves_with_fresh_batches_so_neither_starves()
    {
        // A backlog of 30 batches left in the spool by an earlier run.
        using (var earlier = DiskSpool.Open(_dir, Kit.Id, 50L << 20, SpoolFullPolicy.Reject, Serilog.Core.Logger.None, new(), Kit.Id))
        {
            for (var i = 0; i < 30; i++)
            {
                var backlog = ExporterTestKit.Spans(2, $"old{i:00}");
                Assert.That(earlier.TryAppend(Signal.Traces, SignalOps<ResourceSpans>.Instance.SerializeRequest(backlog.Resources), 2).IsStored, Is.True);
            }
        }

        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl, _dir, SpoolDurability.WriteAhead));
        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "replay to start on its own");
        for (var i = 0; i < 10; i++)
        {
            await exporter.ConsumeAsync(ExporterTestKit.Spans(2, $"new{i:00}"), CancellationToken.None);
        }

        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() == 80, Deadline, "backlog and fresh batches delivered");

        var names = CallNames(backend);
        var old = names.Where(n => n.StartsWith("old", StringComparison.Ordinal)).ToList();
        var lastFresh = names.FindLastIndex(n => n.StartsWith("new", StringComparison.Ordinal));
        var lastOld = names.FindLastIndex(n => n.StartsWith("old", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(old, Is.Ordered, "the spool replays oldest first");
            Assert.That(old, Has.Count.EqualTo(30));
            Assert.That(names[0], Does.StartWith("old00"));
            Assert.That(lastFresh, Is.LessThan(lastOld), "fresh batches are not held behind the whole backlog");
            Assert.That(names.Take(21).Count(n => n.StartsWith("old", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(10), "nor does fresh data stop the replay");
            Assert.That(Kit.Metrics.Read("collector_exporter_replayed_spans_total", ("exporter", Kit.Id)), Is.EqualTo(60));
            Assert.That(Kit.Metrics.Read("collector_spool_items", ("exporter", Kit.Id)), Is.Zero, "delivered batches are deleted");
        });
    }

    [Test]
    public async Task Write_ahead_with_a_spool_that_cannot_be_opened_degrades_to_memory_counts_it_and_still_delivers()
    {
        // Root ignores file modes, but nobody can create a directory under a regular file.
        var blocker = Path.Combine(_dir, "not-a-directory");
        await File.WriteAllTextAsync(blocker, "x");
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl, Path.Combine(blocker, "spool"), SpoolDurability.WriteAhead);
        config.SendingQueue.Spool!.OnUnavailable = SpoolOnUnavailable.Degrade;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        Assert.That(exporter.RequiresDurableAck, Is.True);

        var batch = ExporterTestKit.Spans(3);
        var ack = new DeliveryAck();
        batch.Acks = [ack];
        await exporter.ConsumeAsync(batch, CancellationToken.None);

        Assert.That(await ack.Task.WaitAsync(Deadline), Is.Null, "the client is answered: data keeps flowing");
        await Poll.UntilAsync(() => Kit.Sent() == 3, Deadline, "delivery from memory");
        Assert.Multiple(() =>
        {
            Assert.That(Kit.Metrics.Read("collector_exporter_spool_bypassed_spans_total", ("exporter", Kit.Id)), Is.EqualTo(3));
            Assert.That(Kit.Metrics.Read("collector_spool_errors_total", ("exporter", Kit.Id), ("op", "open")), Is.GreaterThanOrEqualTo(1));
            Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.Some.Contains("NOT durable"));
        });
    }

    /// <summary>Issue 14 loss path 5: a failed commit (here SQLITE_FULL, a full disk) is refused, never acknowledged from memory.</summary>
    [Test]
    public async Task Write_ahead_refuses_a_batch_whose_commit_failed_and_sends_only_what_it_stored()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl, _dir, SpoolDurability.WriteAhead);
        var faults = new Collector.Tests.Spool.SpoolFaults();
        SharedSpool.For(Kit.Context, config.SendingQueue.Spool!, faults.Opener);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        faults.FailNext("Insert", Collector.Tests.Spool.SpoolFaults.Full);

        var refused = ExporterTestKit.Spans(3, "refused");
        var refusedAck = new DeliveryAck();
        refused.Acks = [refusedAck];
        await exporter.ConsumeAsync(refused, CancellationToken.None);
        var kept = ExporterTestKit.Spans(4, "kept");
        var keptAck = new DeliveryAck();
        kept.Acks = [keptAck];
        await exporter.ConsumeAsync(kept, CancellationToken.None);

        Assert.That(await refusedAck.Task.WaitAsync(Deadline), Is.EqualTo("exporter spool cannot store the data"), "the client is told to retry");
        Assert.That(await keptAck.Task.WaitAsync(Deadline), Is.Null, "the next commit worked");
        await Poll.UntilAsync(() => Kit.Sent() == 4, Deadline, "the stored batch delivered");
        Assert.Multiple(() =>
        {
            Assert.That(CallNames(backend), Is.EqualTo(new[] { "kept-0" }), "nothing that was refused is sent");
            Assert.That(Kit.Metrics.Read("collector_exporter_refused_spans_total", ("exporter", Kit.Id), ("reason", "spool_error")), Is.EqualTo(3));
            Assert.That(Kit.Metrics.Read("collector_exporter_spool_bypassed_spans_total", ("exporter", Kit.Id)), Is.Zero);
            Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.Some.Contains("refusing"));
        });
    }

    [Test]
    public async Task Write_ahead_under_on_unavailable_degrade_keeps_a_batch_whose_commit_failed_in_memory()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl, _dir, SpoolDurability.WriteAhead);
        config.SendingQueue.Spool!.OnUnavailable = SpoolOnUnavailable.Degrade;
        var faults = new Collector.Tests.Spool.SpoolFaults();
        SharedSpool.For(Kit.Context, config.SendingQueue.Spool!, faults.Opener);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);
        faults.FailNext("Insert", Collector.Tests.Spool.SpoolFaults.Full);

        var batch = ExporterTestKit.Spans(3);
        var ack = new DeliveryAck();
        batch.Acks = [ack];
        await exporter.ConsumeAsync(batch, CancellationToken.None);

        Assert.That(await ack.Task.WaitAsync(Deadline), Is.Null, "degrade: acknowledged from memory");
        await Poll.UntilAsync(() => Kit.Sent() == 3, Deadline, "delivery from memory");
        Assert.That(Kit.Metrics.Read("collector_exporter_spool_bypassed_spans_total", ("exporter", Kit.Id)), Is.EqualTo(3));
        Assert.That(Kit.Metrics.Read("collector_exporter_refused_spans_total", ("exporter", Kit.Id), ("reason", "spool_error")), Is.Zero);
    }

    [Test]
    public async Task Write_ahead_acknowledges_only_after_the_commit_and_a_full_spool_fails_the_ack()
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = Config(backend.BaseUrl, _dir, SpoolDurability.WriteAhead);
        config.SendingQueue.Spool!.MaxSizeMib = 1;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        var stored = ExporterTestKit.Spans(5);
        var storedAck = new DeliveryAck();
        stored.Acks = [storedAck];
        await exporter.ConsumeAsync(stored, CancellationToken.None);
        Assert.That(await storedAck.Task.WaitAsync(Deadline), Is.Null);
        Assert.That(Kit.Metrics.Read("collector_spool_items", ("exporter", Kit.Id)), Is.EqualTo(5), "committed before the ack");

        // Fill the 1 MiB spool while the backend holds every request: then a batch is refused, not dropped.
        string? failure = null;
        for (var i = 0; i < 400 && failure is null; i++)
        {
            var big = ExporterTestKit.Spans(200);
            var ack = new DeliveryAck();
            big.Acks = [ack];
            await exporter.ConsumeAsync(big, CancellationToken.None);
            failure = await ack.Task.WaitAsync(Deadline);
        }

        Assert.That(failure, Is.EqualTo("exporter spool is full"));
        Assert.That(Kit.Metrics.Read("collector_exporter_refused_spans_total", ("exporter", Kit.Id), ("reason", "spool_full")), Is.EqualTo(200));
        backend.Gate.SetResult();
    }

    [Test]
    public async Task Drop_oldest_counts_each_signals_losses_under_its_own_name_when_signals_share_the_spool()
    {
        // Log records spooled by an earlier run are the oldest rows of the exporter's one database.
        using (var earlier = DiskSpool.Open(_dir, Kit.Id, 1L << 20, SpoolFullPolicy.DropOldest, Serilog.Core.Logger.None, new(), Kit.Id))
        {
            for (var i = 0; i < 10; i++)
            {
                var logs = ExporterTestKit.LogRecords(200);
                Assert.That(earlier.TryAppend(Signal.Logs, SignalOps<OpenTelemetry.Proto.Logs.V1.ResourceLogs>.Instance.SerializeRequest(logs.Resources), 200).IsStored, Is.True);
            }
        }

        var config = Config($"http://127.0.0.1:{ClosedPort()}", _dir, SpoolDurability.WriteAhead);
        config.SendingQueue.Spool!.MaxSizeMib = 1;
        config.SendingQueue.Spool.OnFull = SpoolOnFull.DropOldest;
        await StartExporterAsync<OpenTelemetry.Proto.Logs.V1.ResourceLogs>(_factory, config);
        var traces = await StartExporterAsync<ResourceSpans>(_factory, config);

        // About 2 MB of spans into a 1 MiB spool while the backend is down.
        for (var i = 0; i < 100; i++)
        {
            var batch = ExporterTestKit.Spans(200);
            var ack = new DeliveryAck();
            batch.Acks = [ack];
            await traces.ConsumeAsync(batch, CancellationToken.None);
            Assert.That(await ack.Task.WaitAsync(Deadline), Is.Null);
        }

        var spoolDropped = Kit.Metrics.Read("collector_spool_dropped_items_total", ("exporter", Kit.Id), ("reason", "drop_oldest"));
        var spans = Kit.Failed("drop_oldest");
        var logRecords = Kit.Failed("drop_oldest", "log_records");
        Assert.Multiple(() =>
        {
            Assert.That(logRecords, Is.GreaterThan(0), "the old log records went first");
            Assert.That(logRecords % 200, Is.Zero, "whole log batches, counted as log records");
            Assert.That(spans, Is.GreaterThan(0));
            Assert.That(spans + logRecords, Is.EqualTo(spoolDropped), "every drop counted once, under its own signal");
        });
    }

    [TestCase(SpoolDurability.OnFailure)]
    [TestCase(SpoolDurability.WriteAhead)]
    public async Task A_full_byte_sized_queue_leaves_the_excess_in_the_spool_and_everything_is_delivered(SpoolDurability durability)
    {
        var backend = await HttpBackendAsync();
        backend.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = Config(backend.BaseUrl, _dir, durability);
        config.SendingQueue.Sizer = QueueSizer.Bytes;
        config.SendingQueue.QueueSize = SendingQueueConfig.MinQueueBytes;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        // 12 batches of ~300 KiB: about three fit the 1 MiB queue, the rest must wait in the spool.
        for (var i = 0; i < 12; i++)
        {
            var batch = ExporterTestKit.Spans(10, $"b{i:00}");
            foreach (var span in batch.Resources[0].ScopeSpans[0].Spans)
            {
                span.Attributes.Add(new OpenTelemetry.Proto.Common.V1.KeyValue { Key = "gen_ai.prompt", Value = new() { StringValue = new string('x', 30_000) } });
            }

            var bytes = batch.ToRequestBytes();
            await exporter.ConsumeAsync(Batch<ResourceSpans>.FromEncoded(bytes, 10, bytes.Length, null), CancellationToken.None);
            Assert.That(Kit.Metrics.Read("collector_exporter_queue_bytes", ("exporter", Kit.Id), ("data_type", "traces")), Is.LessThanOrEqualTo(SendingQueueConfig.MinQueueBytes));
        }

        Assert.That(Kit.Failed("queue_full"), Is.Zero, "with a spool a full queue drops nothing");
        backend.Gate.SetResult();
        await Poll.UntilAsync(() => Kit.Sent() >= 120 && Kit.Metrics.Read("collector_spool_items", ("exporter", Kit.Id)) == 0, Deadline, "every span delivered");
        Assert.Multiple(() =>
        {
            Assert.That(Kit.Metrics.Read("collector_exporter_replayed_spans_total", ("exporter", Kit.Id)), Is.GreaterThan(0), "the excess came back from the spool");
            Assert.That(Kit.Metrics.Sum("collector_exporter_send_failed_spans_total", ("exporter", Kit.Id)), Is.Zero);
            Assert.That(CallNames(backend).Distinct().Count(), Is.EqualTo(12), "every batch arrived");
        });
    }

    [TestCase(SpoolDurability.OnFailure)]
    [TestCase(SpoolDurability.WriteAhead)]
    public async Task The_grpc_exporter_spools_through_an_outage_and_replays_when_the_backend_is_back(SpoolDurability durability)
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(Grpc.Core.StatusCode.Unavailable), times: 12);
        var config = new Collector.Exporters.Otlp.OtlpExporterConfig { Endpoint = backend.Endpoint };
        ExporterTestKit.FastRetry(config, maxAttempts: 2);
        config.SendingQueue.QueueSize = 2;
        config.SendingQueue.Spool = new SpoolConfig { Directory = _dir, Durability = durability };
        var exporter = await StartExporterAsync<ResourceSpans>(new Collector.Exporters.Otlp.OtlpExporterFactory(), config);

        var sent = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var batch = ExporterTestKit.Spans(5, $"b{i:00}");
            sent.AddRange(TestData.SpanNames([batch]));
            await exporter.ConsumeAsync(batch, CancellationToken.None);
        }

        await Poll.UntilAsync(() => Kit.Sent() >= 100 && Kit.Metrics.Read("collector_spool_items", ("exporter", Kit.Id)) == 0, Deadline, "every span delivered once the backend is back");
        var received = backend.Calls
            .Where(c => c.Request is ExportTraceServiceRequest)
            .SelectMany(c => ((ExportTraceServiceRequest)c.Request).ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
            .Select(span => span.Name)
            .ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(received.IsSupersetOf(sent), Is.True, "none missing");
            Assert.That(Kit.Metrics.Read("collector_exporter_spooled_spans_total", ("exporter", Kit.Id)), Is.GreaterThan(0));
            Assert.That(Kit.Metrics.Read("collector_exporter_replayed_spans_total", ("exporter", Kit.Id)), Is.GreaterThan(0));
            Assert.That(Kit.Metrics.Sum("collector_exporter_send_failed_spans_total", ("exporter", Kit.Id)), Is.Zero);
        });
    }
}
