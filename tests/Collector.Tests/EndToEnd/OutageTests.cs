using System.Net;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Durable;

/// <summary>
/// A real collector (receiver -> otlphttp exporter with a SQLite spool) while its backend is down,
/// then up: nothing acknowledged goes missing, counted by span id at the backend.
/// </summary>
[NonParallelizable]
public sealed class OutageTests : DurableTestBase
{
    [TestCase("on_failure")]
    [TestCase("write_ahead")]
    public async Task Backend_down_for_the_whole_send_then_up_delivers_every_acknowledged_span(string durability)
    {
        int receiver = Ports.Free(), backendPort = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(receiver, backendPort, durability));
        using var client = new OtlpClient(receiver);

        // Nothing listens on the backend port for the whole send: every attempt is refused.
        var senders = new Task[4];
        for (var s = 0; s < senders.Length; s++)
        {
            senders[s] = Task.Run(async () =>
            {
                for (var i = 0; i < 15; i++)
                {
                    Assert.That(await client.SendAsync(spans: 20), Is.EqualTo(HttpStatusCode.OK));
                }
            });
        }

        await Task.WhenAll(senders);
        var acked = client.Acked.ToHashSet();
        Assert.That(acked, Has.Count.EqualTo(4 * 15 * 20));
        await Poll.UntilAsync(
            () => Metric(collector, "collector_exporter_spooled_spans_total") >= (durability == "write_ahead" ? acked.Count : 1),
            Deadline, "spans to be spooled during the outage");

        await using var backend = await HttpTestBackend.StartAsync(backendPort);
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(acked), Deadline, "every acknowledged span at the backend");
        await Poll.UntilAsync(() => Metric(collector, "collector_spool_items") == 0, Deadline, "the spool to drain");

        Assert.Multiple(() =>
        {
            Assert.That(received.Unique.IsSubsetOf(acked), Is.True, "only what was sent arrives");
            Assert.That(Metric(collector, "collector_exporter_replayed_spans_total"), Is.GreaterThan(0), "the backlog came back from the spool");
            Assert.That(Failed(collector), Is.Zero, "nothing was dropped");
            Assert.That(Metric(collector, "collector_exporter_sent_spans_total"), Is.EqualTo(received.Total), "every delivery is counted once");
        });
    }

    [TestCase("on_failure")]
    [TestCase("write_ahead")]
    public async Task Shutdown_writes_queued_and_in_flight_batches_to_the_spool_and_the_next_start_delivers_them(string durability)
    {
        int receiver = Ports.Free(), backendPort = Ports.Free();

        // Room in the queue and retries that outlast the test: only shutdown moves batches to the spool.
        var yaml = Yaml(receiver, backendPort, durability, queueSize: 100, maxAttempts: 1000);
        var first = await RunningCollector.StartAsync(yaml);
        using var client = new OtlpClient(receiver);
        for (var i = 0; i < 10; i++)
        {
            Assert.That(await client.SendAsync(spans: 5), Is.EqualTo(HttpStatusCode.OK));
        }

        var acked = client.Acked.ToHashSet();
        if (durability == "on_failure")
        {
            Assert.That(Metric(first, "collector_exporter_spooled_spans_total"), Is.Zero, "on_failure keeps batches in memory until something fails");
        }

        await first.DisposeAsync();
        Assert.That(Metric(first, "collector_exporter_spooled_spans_total"), Is.EqualTo(acked.Count));
        Assert.That(Failed(first), Is.Zero, "nothing dropped at shutdown");

        await using var backend = await HttpTestBackend.StartAsync(backendPort);
        await using var second = await RunningCollector.StartAsync(yaml);
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(acked), Deadline, "the spooled spans delivered after the restart");
        Assert.That(Metric(second, "collector_exporter_replayed_spans_total"), Is.EqualTo(acked.Count));
    }

    [Test]
    public async Task With_two_write_ahead_exporters_the_client_is_answered_only_when_both_committed_and_a_full_one_makes_it_retry()
    {
        int receiver = Ports.Free(), backendPort = Ports.Free();
        var yaml = $$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{receiver}}" } } } }
            exporters:
              otlphttp/roomy:
                endpoint: "http://127.0.0.1:{{backendPort}}"
                sending_queue: { queue_size: 4, spool: { directory: "{{SpoolDir}}", durability: write_ahead } }
              otlphttp/small:
                endpoint: "http://127.0.0.1:{{backendPort}}"
                sending_queue: { queue_size: 4, spool: { directory: "{{SpoolDir}}", durability: write_ahead, max_size_mib: 1, on_full: reject } }
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
              pipelines: { traces: { receivers: [otlp], exporters: [otlphttp/roomy, otlphttp/small] } }
            """;
        await using var collector = await RunningCollector.StartAsync(yaml);
        using var client = new OtlpClient(receiver);

        // The backend is down: the 1 MiB spool fills after a few dozen requests of ~20 KB.
        HttpStatusCode? status = HttpStatusCode.OK;
        for (var i = 0; i < 200 && status == HttpStatusCode.OK; i++)
        {
            status = await client.SendAsync(spans: 10, payloadBytes: 2_000);
        }

        double Read(string name, string exporter, params (string Key, string Value)[] labels) =>
            collector.Host.Metrics.Read(name, [("exporter", exporter), .. labels]);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "one full spool refuses the request");
            Assert.That(Read("collector_exporter_spooled_spans_total", "otlphttp/small"), Is.EqualTo(client.Acked.Count), "every acknowledged span is in the small spool");
            Assert.That(Read("collector_exporter_spooled_spans_total", "otlphttp/roomy"), Is.EqualTo(client.Acked.Count + 10), "and in the roomy one, which also took the refused request");
            Assert.That(Read("collector_exporter_refused_spans_total", "otlphttp/small", ("reason", "spool_full")), Is.EqualTo(10));
            Assert.That(File.Exists(Path.Combine(SpoolDir, "otlphttp_roomy.spool.db")) && File.Exists(Path.Combine(SpoolDir, "otlphttp_small.spool.db")), Is.True, "one database per exporter");
        });
    }
}
