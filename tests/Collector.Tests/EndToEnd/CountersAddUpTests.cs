using System.Net;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;

namespace Collector.Tests.Durable;

/// <summary>
/// The collector's own counters account for every item it accepted: after mixed traffic (plain
/// requests, requests whose client gave up waiting, a backend that refuses some batches for good
/// and fails others for a while), accepted = sent + dropped (by reason) + still spooled.
/// </summary>
[NonParallelizable]
public sealed class CountersAddUpTests : DurableTestBase
{
    [Test]
    public async Task Accepted_equals_sent_plus_dropped_plus_spooled_after_mixed_traffic_with_abandoned_requests()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        backend.Enqueue(new HttpFault(400));
        backend.Enqueue(new HttpFault(503), times: 3);
        var receiver = Ports.Free();

        // write_ahead behind a batch of 60 spans or 3 s: a client waits until its batch is full or 3 s passed.
        var yaml = Yaml(receiver, new Uri(backend.BaseUrl).Port, "write_ahead", queueSize: 64, maxAttempts: 2)
            .Replace("pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } }",
                "pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] } }", StringComparison.Ordinal)
            .Replace("exporters:\n", "processors: { batch: { timeout: 3s, send_batch_size: 60, send_batch_max_size: 60 } }\nexporters:\n", StringComparison.Ordinal);
        await using var collector = await RunningCollector.StartAsync(yaml);
        using var client = new OtlpClient(receiver);

        // Clients that give up after 1 s: the pipeline took their data long before (the box may be slow),
        // and the batch that holds it (50 spans) leaves 3 s after their first span came.
        using var impatient = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        async Task<bool> AbandonAsync()
        {
            using var content = new ByteArrayContent(SpanIds.Request(10, 0, []).ToByteArray());
            content.Headers.ContentType = new("application/x-protobuf");
            try
            {
                using var response = await impatient.PostAsync($"http://127.0.0.1:{receiver}/v1/traces", content);
                return false;
            }
            catch (TaskCanceledException)
            {
                return true;
            }
        }

        var abandonedSends = new List<Task<bool>>();
        for (var i = 0; i < 5; i++)
        {
            abandonedSends.Add(AbandonAsync());
        }

        var abandoned = (await Task.WhenAll(abandonedSends)).Count(gaveUp => gaveUp);
        // Then plain clients, answered as their batches fill.
        var sends = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            sends.Add(client.SendAsync(spans: 10));
        }

        await Task.WhenAll(sends);
        Assert.That(abandoned, Is.EqualTo(5), "the answers came after the clients gave up");
        Assert.That(client.Acked, Has.Count.EqualTo(200));

        double Accepted() => collector.Host.Metrics.Sum("collector_receiver_accepted_spans_total");
        double Sent() => Metric(collector, "collector_exporter_sent_spans_total");
        double Spooled() => Metric(collector, "collector_spool_items");
        var deadline = DateTime.UtcNow + Deadline;
        while (Accepted() < 250 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(Accepted(), Is.EqualTo(250), $"every request counted accepted, the abandoned ones too (refused: {collector.Host.Metrics.Sum("collector_receiver_refused_spans_total")})");
        await Poll.UntilAsync(() => Sent() + Failed(collector) == 250 && Spooled() == 0, Deadline, "the spool to drain");

        Assert.Multiple(() =>
        {
            Assert.That(Accepted(), Is.EqualTo(Sent() + Failed(collector) + Spooled()), "accepted = sent + dropped + spooled");
            Assert.That(Metric(collector, "collector_exporter_send_failed_spans_total", ("reason", "permanent")), Is.InRange(1, 60), "the 400 dropped one batch for good");
            Assert.That(Failed(collector), Is.EqualTo(Metric(collector, "collector_exporter_send_failed_spans_total", ("reason", "permanent"))), "and nothing else was dropped");
            Assert.That(Metric(collector, "collector_exporter_retries_total"), Is.GreaterThan(0), "the 503s were retried");
            Assert.That(new ReceivedSpans(backend).Unique, Has.Count.EqualTo(250), "every span reached the backend once (the dropped batch with its 400)");
        });
    }
}
