using Collector.Tests.Durable;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.EndToEnd;

/// <summary>
/// Issue 14, loss path 2: a real collector (OTLP/gRPC receiver -> otlphttp exporter with a small
/// queue) in front of a slow backend (Kestrel answering each request after 50 ms), blasted by gRPC
/// OTLP clients. With <c>on_full: drop</c> every request is acknowledged and the overflow is dropped
/// (the old default); with the default <c>on_full: reject</c> the door answers UNAVAILABLE while the
/// queue is full, nothing acknowledged is dropped, and everything acknowledged arrives once the
/// backend is fast again.
/// </summary>
[NonParallelizable]
public sealed class QueueFullBackpressureTests
{
    private const int Senders = 4;
    private const int RequestsPerSender = 50;
    private const int SpansPerRequest = 20;
    private const int QueueSize = 4;
    private const int PipelineQueueSize = 4;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary><paramref name="onFull"/> null leaves sending_queue.on_full at its default.</summary>
    private static string Yaml(int receiver, string backendUrl, string? onFull) => $$"""
        receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{{receiver}}" } } } }
        exporters:
          otlphttp:
            endpoint: "{{backendUrl}}"
            compression: none
            retry_on_failure: { initial_interval: 50ms, max_interval: 200ms, randomization_factor: 0 }
            sending_queue: { queue_size: {{QueueSize}}, num_consumers: 1{{(onFull is null ? "" : $", on_full: {onFull}")}} }
        service:
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines: { traces: { receivers: [otlp], exporters: [otlphttp], queue_size: {{PipelineQueueSize}} } }
        """;

    /// <summary>What the clients saw and what the collector did with it.</summary>
    private sealed record Figures(long Sent, HashSet<ulong> Acknowledged, long Unavailable, long OtherErrors, double Dropped, double MaxQueued, List<(ExportTraceServiceRequest Request, List<ulong> Ids)> Refused);

    /// <summary>Every sender sends its requests one after another as fast as it is answered; refused requests are not resent.</summary>
    private static async Task<Figures> BlastAsync(RunningCollector collector, int receiver)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{receiver}");
        var client = new TraceService.TraceServiceClient(channel);
        var acknowledged = new List<ulong>();
        var refused = new List<(ExportTraceServiceRequest, List<ulong>)>();
        long unavailable = 0, other = 0;
        var maxQueued = 0.0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxQueued = Math.Max(maxQueued, QueueGauge(collector));
                await Task.Delay(1);
            }
        });

        var senders = new Task[Senders];
        for (var s = 0; s < Senders; s++)
        {
            senders[s] = Task.Run(async () =>
            {
                for (var i = 0; i < RequestsPerSender; i++)
                {
                    var ids = new List<ulong>(SpansPerRequest);
                    var request = SpanIds.Request(SpansPerRequest, payloadBytes: 200, ids);
                    try
                    {
                        await client.ExportAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                        lock (acknowledged)
                        {
                            acknowledged.AddRange(ids);
                        }
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                    {
                        Interlocked.Add(ref unavailable, SpansPerRequest);
                        lock (refused)
                        {
                            refused.Add((request, ids));
                        }
                    }
                    catch (RpcException)
                    {
                        Interlocked.Increment(ref other);
                    }
                }
            });
        }

        await Task.WhenAll(senders);
        await stop.CancelAsync();
        await sampler;
        return new Figures(Senders * RequestsPerSender * SpansPerRequest, [.. acknowledged], unavailable, other, Dropped(collector), maxQueued, refused);
    }

    /// <summary>
    /// What an SDK does with a request answered UNAVAILABLE: sends it again after a pause (shortened
    /// from the collector's Retry-After of 1 s) until it is acknowledged; returns the attempts made.
    /// </summary>
    private static async Task<int> ResendUntilAcknowledgedAsync(int receiver, List<(ExportTraceServiceRequest Request, List<ulong> Ids)> refused, HashSet<ulong> acknowledged)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{receiver}");
        var client = new TraceService.TraceServiceClient(channel);
        var attempts = 0;
        foreach (var (request, ids) in refused)
        {
            for (var attempt = 0; ; attempt++)
            {
                Assert.That(attempt, Is.LessThan(200), "a refused request is taken within 200 attempts once the backend is fast");
                attempts++;
                try
                {
                    await client.ExportAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                    acknowledged.UnionWith(ids);
                    break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                {
                    await Task.Delay(20);
                }
            }
        }

        return attempts;
    }

    private static double Read(RunningCollector collector, string name, params (string Key, string Value)[] labels) =>
        collector.Host.Metrics.Read(name, [("exporter", "otlphttp"), .. labels]);

    private static double QueueGauge(RunningCollector collector) => Read(collector, "collector_exporter_queue_size", ("data_type", "traces"));

    private static double Dropped(RunningCollector collector) =>
        collector.Host.Metrics.Sum("collector_exporter_send_failed_spans_total", ("exporter", "otlphttp"));

    [Test]
    public async Task Before_with_on_full_drop_every_span_is_acknowledged_and_the_overflow_is_dropped()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        backend.SlowBy = TimeSpan.FromMilliseconds(50);
        var receiver = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(receiver, backend.BaseUrl, onFull: "drop"));

        var figures = await BlastAsync(collector, receiver);
        backend.SlowBy = TimeSpan.Zero;
        await Poll.UntilAsync(
            () => Read(collector, "collector_exporter_sent_spans_total") + Dropped(collector) == figures.Acknowledged.Count,
            Deadline,
            "every acknowledged span delivered or counted dropped");
        var received = new ReceivedSpans(backend);
        var delivered = received.Unique.Count;
        var queueFull = Read(collector, "collector_exporter_send_failed_spans_total", ("reason", "queue_full"));
        TestContext.Progress.WriteLine(
            $"on_full: drop -> sent {figures.Sent}, acknowledged {figures.Acknowledged.Count}, delivered {delivered}, dropped {queueFull} (queue_full), UNAVAILABLE {figures.Unavailable}, max queued {figures.MaxQueued} batches");

        Assert.Multiple(() =>
        {
            Assert.That(figures.OtherErrors, Is.Zero);
            Assert.That(figures.Acknowledged, Has.Count.EqualTo(figures.Sent), "every request answered OK");
            Assert.That(figures.Unavailable, Is.Zero, "no pushback");
            Assert.That(queueFull, Is.GreaterThan(0), "acknowledged spans dropped at the full queue");
            Assert.That(delivered + queueFull, Is.EqualTo(figures.Acknowledged.Count), "what was not delivered was dropped as queue_full");
            Assert.That(received.ContainsAll(figures.Acknowledged), Is.False, "acknowledged data lost");
        });
    }

    [Test]
    public async Task After_by_default_a_full_queue_answers_unavailable_and_every_acknowledged_span_is_delivered()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        backend.SlowBy = TimeSpan.FromMilliseconds(50);
        var receiver = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(receiver, backend.BaseUrl, onFull: null));

        var figures = await BlastAsync(collector, receiver);
        var acknowledgedInBlast = figures.Acknowledged.Count;
        backend.SlowBy = TimeSpan.Zero;
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(figures.Acknowledged), Deadline, "every acknowledged span at the backend once it is fast again");
        await Poll.UntilAsync(() => QueueGauge(collector) == 0, Deadline, "the queue to drain");
        var deliveredAfterBlast = received.Unique.Count;
        var droppedAfterBlast = Dropped(collector);
        var refusedAtDoor = collector.Host.Metrics.Read("collector_pipeline_refused_spans_total", ("pipeline", "traces"));
        var refusedByExporter = Read(collector, "collector_exporter_admission_refused_requests_total", ("data_type", "traces"), ("reason", "queue_full"));
        var overfilled = Read(collector, "collector_exporter_queue_overfilled_spans_total");

        // The clients' SDKs send the refused requests again: now everything arrives.
        var resends = await ResendUntilAcknowledgedAsync(receiver, figures.Refused, figures.Acknowledged);
        await Poll.UntilAsync(() => received.Unique.Count == figures.Sent, Deadline, "every span at the backend after the resends");
        TestContext.Progress.WriteLine(
            $"on_full: reject (default) -> sent {figures.Sent}, acknowledged {acknowledgedInBlast}, delivered {deliveredAfterBlast}, dropped {droppedAfterBlast}, UNAVAILABLE {figures.Unavailable} spans ({refusedByExporter} requests refused by otlphttp), overfilled {overfilled}, max queued {figures.MaxQueued} batches; "
            + $"after resending the refused requests ({resends} attempts): acknowledged {figures.Acknowledged.Count}, delivered {received.Unique.Count}, dropped {Dropped(collector)}");

        Assert.Multiple(() =>
        {
            Assert.That(figures.OtherErrors, Is.Zero);
            Assert.That(figures.Unavailable, Is.GreaterThan(0), "the full queue pushed back to the clients");
            Assert.That(acknowledgedInBlast + figures.Unavailable, Is.EqualTo(figures.Sent), "every request acknowledged or refused");
            Assert.That(droppedAfterBlast, Is.Zero, "nothing acknowledged is dropped");
            Assert.That(deliveredAfterBlast, Is.EqualTo(acknowledgedInBlast), "exactly the acknowledged spans arrive");
            Assert.That(received.Unique.SetEquals(figures.Acknowledged) && figures.Acknowledged.Count == figures.Sent, Is.True, "resent, every span is acknowledged and delivered");
            Assert.That(Dropped(collector), Is.Zero, "and still nothing dropped");
            Assert.That(refusedAtDoor, Is.EqualTo(figures.Unavailable), "the door counts every refused span");
            Assert.That(refusedByExporter * SpansPerRequest, Is.EqualTo(figures.Unavailable), "and the exporter that refused, per request");
            Assert.That(figures.MaxQueued, Is.LessThanOrEqualTo(QueueSize + PipelineQueueSize + Senders), "the queue overshoots by at most what the pipeline holds in flight");
        });
    }
}
