using Collector.Pipeline;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;

namespace Collector.Tests.LangtraceInterop;

/// <summary>The langtrace exporter wraps an exporter helper: its gate must reach the pipeline door.</summary>
public sealed class LangtraceAdmissionTests : LangtraceTestBase
{
    [Test]
    public async Task A_full_sending_queue_refuses_at_the_door_through_the_langtrace_exporter()
    {
        // Every request answered 503: the one consumer stays on the first request, retrying.
        StandIn.Enqueue(503, times: 10_000);
        var config = Config(batchSize: 1, maxAttempts: 10_000);
        config.SendingQueue.QueueSize = 1;
        var exporter = await StartExporterAsync(config);
        var gate = exporter as IAdmissionControl;
        Assert.That(gate, Is.Not.Null, "the langtrace exporter is an admission gate");
        Assert.That(gate!.CheckAdmission(0), Is.Null, "an empty queue admits");

        // batch_size 1: three requests, one in flight, one queued, one above queue_size.
        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Requests.Count >= 1, TimeSpan.FromSeconds(10), "the first request at the stand-in");

        Assert.Multiple(() =>
        {
            Assert.That(gate.CheckAdmission(0), Is.EqualTo("exporter langtrace: sending queue full"));
            Assert.That(Kit.Metrics.Read("collector_exporter_admission_refused_requests_total", ("exporter", "langtrace"), ("data_type", "traces"), ("reason", "queue_full")), Is.EqualTo(1));
            Assert.That(Kit.Failed("queue_full"), Is.Zero, "nothing admitted is dropped");
        });
    }
}
