using System.Net;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Durable;

/// <summary>
/// A long outage with more data than the 50 MiB spool holds: the files never pass the cap (sampled
/// all along), on_full decides what happens, and every acknowledged span is delivered or counted.
/// </summary>
[NonParallelizable]
public sealed class SpoolCapTests : DurableTestBase
{
    private const long Cap = 50L << 20;

    [TestCase("reject")]
    [TestCase("drop_oldest")]
    public async Task More_than_50_MB_during_an_outage_keeps_the_spool_under_its_cap_and_applies_on_full(string onFull)
    {
        int receiver = Ports.Free(), backendPort = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(receiver, backendPort, "write_ahead", maxSizeMib: 50, onFull: onFull));
        using var client = new OtlpClient(receiver);

        // 4 x 170 requests of 10 spans carrying 10 KB of random bytes each: about 68 MB, incompressible.
        long maxOnDisk;
        await using (var sampler = new SpoolSizeSampler(SpoolDir))
        {
            var senders = new Task[4];
            for (var s = 0; s < senders.Length; s++)
            {
                senders[s] = Task.Run(async () =>
                {
                    for (var i = 0; i < 170; i++)
                    {
                        await client.SendAsync(spans: 10, payloadBytes: 10_000);
                    }
                });
            }

            await Task.WhenAll(senders);
            await Task.Delay(50);
            maxOnDisk = sampler.Max;
            Assert.That(sampler.Samples, Is.GreaterThan(100), "sampled during the whole run");
        }

        var acked = client.Acked.ToHashSet();
        var dropped = (long)Metric(collector, "collector_exporter_send_failed_spans_total", ("reason", "drop_oldest"));
        Assert.Multiple(() =>
        {
            Assert.That(maxOnDisk, Is.LessThanOrEqualTo(Cap), "database + WAL never above max_size_mib");
            Assert.That(maxOnDisk, Is.GreaterThan(Cap * 8 / 10), "the spool did fill up");
            Assert.That(client.OtherFailures, Is.Zero);
            Assert.That(acked.Count + client.RefusedSpans, Is.EqualTo(4 * 170 * 10), "every request was answered 200 or 503");
        });
        if (onFull == "reject")
        {
            Assert.That(client.RefusedSpans, Is.GreaterThan(0), "a full spool answers 503 so that the SDK retries");
            // Refused by the failed commit, or (issue 14) already at the door once the queue was full and the spool had refused.
            var refusedAtCommit = Metric(collector, "collector_exporter_refused_spans_total", ("reason", "spool_full"));
            var refusedAtDoor = Metric(collector, "collector_exporter_admission_refused_requests_total", ("data_type", "traces"), ("reason", "spool_full"));
            Assert.That(refusedAtCommit, Is.GreaterThan(0), "the first refusal comes from the commit");
            Assert.That(refusedAtCommit + (10 * refusedAtDoor), Is.EqualTo(client.RefusedSpans), "every refused span counted once, at the commit or at the door");
            Assert.That(dropped, Is.Zero);
        }
        else
        {
            Assert.That(client.RefusedSpans, Is.Zero, "drop_oldest always takes new data");
            Assert.That(dropped, Is.GreaterThan(0));
            Assert.That(Metric(collector, "collector_spool_dropped_items_total", ("reason", "drop_oldest")), Is.EqualTo(dropped));
        }

        await using var backend = await HttpTestBackend.StartAsync(backendPort);
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => Metric(collector, "collector_spool_items") == 0, TimeSpan.FromSeconds(40), "the spool to drain");

        Assert.Multiple(() =>
        {
            Assert.That(received.Unique.IsSubsetOf(acked), Is.True, "nothing refused arrives");
            Assert.That(received.Unique.Count + dropped, Is.EqualTo(acked.Count), "accepted = delivered + counted drops, exactly");
            Assert.That(Failed(collector), Is.EqualTo(dropped), "no other loss");
        });
    }
}
