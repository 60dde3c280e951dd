using Collector.Tests.TestSupport;
using Serilog.Events;

namespace Collector.Tests.LangtraceInterop;

/// <summary>How the langtrace exporter answers each reply of Langtrace's ingestion route (src/Exporters/Langtrace/README.md).</summary>
public sealed class LangtraceStatusTests : LangtraceTestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Test]
    public async Task A_rejected_key_is_not_retried_and_is_logged_once_with_a_hint_but_never_the_key()
    {
        const string wrongKey = "lt-wrong-key-9876543210";
        var config = Config();
        config.ApiKey = wrongKey;
        var exporter = await StartExporterAsync(config);
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "a", NewSpan("one"))), CancellationToken.None);
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "b", NewSpan("two"))), CancellationToken.None);
        await Poll.UntilAsync(() => Kit.Failed("permanent") == 2, Wait, "both batches dropped as permanent");

        Assert.Multiple(() =>
        {
            Assert.That(StandIn.Requests.Select(r => r.Status), Is.EqualTo(new[] { 401, 401 }), "one attempt per batch: 401 is never retried");
            Assert.That(Kit.Retries, Is.Zero);
            Assert.That(StandIn.Stored, Is.Empty);
            var errors = Kit.Logs.Rendered(LogEventLevel.Error);
            Assert.That(errors, Has.Count.EqualTo(1), "logged once, however many batches fail");
            Assert.That(errors[0], Does.Contain("401").And.Contain("check LANGTRACE_API_KEY / api_key"));
            Assert.That(Kit.Logs.Rendered(), Has.None.Contain(wrongKey), "the key is never printed");
        });
    }

    [Test]
    public async Task A_missing_key_is_answered_400_and_dropped_as_permanent()
    {
        var config = Config();
        config.ApiKey = null;
        var exporter = await StartExporterAsync(config);
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "a", NewSpan("one"))), CancellationToken.None);
        await Poll.UntilAsync(() => Kit.Failed("permanent") == 1, Wait, "the batch dropped as permanent");

        Assert.That(StandIn.Requests.Single().Status, Is.EqualTo(400));
        Assert.That(StandIn.Requests.Single().ApiKey, Is.Null);
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Error).Single(), Does.Contain("x-api-key header is missing"));
    }

    [Test]
    public async Task Throttling_and_server_errors_are_retried_until_delivered()
    {
        StandIn.Enqueue(429, retryAfter: "0");
        StandIn.Enqueue(503);
        StandIn.Enqueue(500);
        var exporter = await StartExporterAsync(Config(maxAttempts: 5));
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "a", NewSpan("patient"))), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 1 && Kit.Sent() == 1, Wait, "the span stored after retries, and counted");

        Assert.That(StandIn.Requests.Select(r => r.Status), Is.EqualTo(new[] { 429, 503, 500, 200 }));
        Assert.That(Kit.Retries, Is.EqualTo(3));
        Assert.That(Kit.Sent(), Is.EqualTo(1));
    }

    [Test]
    public async Task Server_errors_beyond_max_attempts_end_as_retries_exhausted_not_poison()
    {
        // Where the durable-delivery spool takes over (on_failure): these batches are kept, not poison.
        StandIn.Enqueue(503, times: 2);
        var exporter = await StartExporterAsync(Config(maxAttempts: 2));
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "a", NewSpan("unlucky"))), CancellationToken.None);
        await Poll.UntilAsync(() => Kit.Failed("retries_exhausted") == 1, Wait, "retries exhausted");

        Assert.That(Kit.Failed("poison"), Is.Zero);
        Assert.That(StandIn.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Server_errors_beyond_max_attempts_wait_in_the_spool_and_are_delivered_when_langtrace_recovers()
    {
        var spoolDir = Directory.CreateTempSubdirectory("langtrace-spool-").FullName;
        try
        {
            StandIn.Enqueue(503, times: 2);
            var config = Config(maxAttempts: 2);
            config.SendingQueue.Spool = new Collector.Pipeline.Export.SpoolConfig { Directory = spoolDir, Durability = Collector.Pipeline.Export.SpoolDurability.OnFailure };
            var exporter = await StartExporterAsync(config);

            await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "a", NewSpan("kept"))), CancellationToken.None);
            await Poll.UntilAsync(() => StandIn.Stored.Any(s => s.Name == "kept"), Wait, "the spooled span stored once Langtrace answers 200");
            // The exporter counts the replay when the 200 reaches it, a moment after the stand-in stored the span.
            await Poll.UntilAsync(() => Kit.Metrics.Read("collector_exporter_replayed_spans_total", ("exporter", Kit.Id)) >= 1, Wait, "the replay counted");

            Assert.That(Kit.Metrics.Read("collector_exporter_spooled_spans_total", ("exporter", Kit.Id)), Is.EqualTo(1));
            Assert.That(Kit.Metrics.Read("collector_exporter_replayed_spans_total", ("exporter", Kit.Id)), Is.EqualTo(1));
            Assert.That(Kit.Failed("retries_exhausted"), Is.Zero, "nothing dropped: it waited on disk");
            Assert.That(StandIn.Requests.Select(r => r.Status).Take(2), Is.EqualTo(new[] { 503, 503 }));
        }
        finally
        {
            Directory.Delete(spoolDir, recursive: true);
        }
    }

    // Unset max_attempts without a spool would retry until max_elapsed_time (5m), but not a batch that may be poison.
    [TestCase(3)]
    [TestCase(null)]
    public async Task A_batch_answered_404_is_retried_then_dropped_as_poison_without_blocking_later_batches(int? maxAttempts)
    {
        StandIn.FailIngestionWhen = span => span.Name == "poison";
        var poison = NewSpan("poison");
        var exporter = await StartExporterAsync(Config(maxAttempts: maxAttempts));
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "bad-scope", poison)), CancellationToken.None);
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "good-scope", NewSpan("fine-1"), NewSpan("fine-2"))), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 2 && Kit.Failed("poison") == 1, Wait, "the good batch stored and the poison one dropped");

        Assert.Multiple(() =>
        {
            Assert.That(StandIn.Requests.Count(r => r.Status == 404), Is.EqualTo(3), "retried up to max_attempts");
            Assert.That(StandIn.Stored.Select(s => s.Name), Is.EquivalentTo(new[] { "fine-1", "fine-2" }));
            Assert.That(Kit.Failed("retries_exhausted"), Is.Zero, "poison is counted on its own");
            var warning = Kit.Logs.Rendered(LogEventLevel.Warning).Single(l => l.Contains("poison", StringComparison.Ordinal));
            Assert.That(warning, Does.Contain(Hex(poison.TraceId)), "logged with its trace ids");
        });
    }

    [Test]
    public async Task A_transient_404_is_delivered_on_retry()
    {
        StandIn.Enqueue(404);
        var exporter = await StartExporterAsync(Config());
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "a", NewSpan("second-try"))), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 1, Wait, "stored on the second attempt");

        Assert.That(StandIn.Requests.Select(r => r.Status), Is.EqualTo(new[] { 404, 200 }));
        Assert.That(Kit.Failed("poison"), Is.Zero);
    }
}
