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
}
