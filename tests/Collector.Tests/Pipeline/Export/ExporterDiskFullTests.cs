using Collector.Exporters.OtlpHttp;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Spool;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Durable;

/// <summary>
/// Issue 14 loss path 5 on a real full disk (a 2 MiB tmpfs; needs permission to mount, ignored where
/// there is none): write_ahead with the backend down until the spool fills the disk, shutdown, then a
/// restart on the still-full disk with the backend back. Nothing acknowledged may be lost.
/// </summary>
public sealed class ExporterDiskFullTests : ExporterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly OtlpHttpExporterFactory _factory = new();
    private string _dir = null!;
    private TmpfsMount? _tmpfs;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("collector-spool-diskfull-").FullName;

    [TearDown]
    public async Task DeleteDirectory()
    {
        // Exporters close their spool files before the file system goes.
        await StopAll();
        _tmpfs?.Dispose();
        _tmpfs = null;
        Directory.Delete(_dir, recursive: true);
    }

    private static OtlpHttpExporterConfig Config(string endpoint, string directory)
    {
        var config = new OtlpHttpExporterConfig { Endpoint = endpoint, Compression = Collector.Exporters.Shared.OtlpCompression.None };
        ExporterTestKit.FastRetry(config);
        config.SendingQueue.Spool = new SpoolConfig { Directory = directory, Durability = SpoolDurability.WriteAhead, MaxSizeMib = 50 };
        return config;
    }

    /// <summary>A real full file system (a 2 MiB tmpfs): needs root and permission to mount, so explicit (tests/README.md).</summary>
    [Test]
    [Explicit("needs root and permission to mount a tmpfs")]
    public async Task On_a_full_disk_write_ahead_acknowledges_only_what_it_committed_and_a_restart_replays_all_of_it()
    {
        var tmpfs = _tmpfs = TmpfsMount.TryMount(Path.Combine(_dir, "tmpfs"), "2m");
        if (tmpfs is null)
        {
            Assert.Fail("mounting a tmpfs is not allowed here: run this test as root on a machine that allows mounts");
            return;
        }

        // The backend is down (nothing listens): every batch stays in the spool, which outgrows the disk.
        var down = await StartExporterAsync<ResourceSpans>(_factory, Config($"http://127.0.0.1:{Ports.Free()}", tmpfs.Path));
        long acknowledged = 0, refused = 0;
        for (var i = 0; i < 300; i++)
        {
            var batch = ExporterTestKit.Spans(100, $"b{i:000}");
            var ack = new DeliveryAck();
            batch.Acks = [ack];
            await down.ConsumeAsync(batch, CancellationToken.None);
            if (await ack.Task.WaitAsync(Deadline) is null)
            {
                acknowledged += 100;
            }
            else
            {
                refused += 100;
            }
        }

        await StopAll();

        var backend = await HttpBackendAsync();
        await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl, tmpfs.Path));
        await Poll.UntilAsync(() => Kit.Sent() >= acknowledged, Deadline, "every acknowledged span delivered after the restart");
        await Poll.UntilAsync(() => Kit.Metrics.Read("collector_spool_items", ("exporter", Kit.Id)) == 0, Deadline, "the spool drained");
        var delivered = backend.Calls.Sum(c => OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest.Parser.ParseFrom(c.Body).ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)));
        TestContext.Out.WriteLine($"acknowledged {acknowledged}, refused {refused}, delivered after restart {delivered} (lost {Math.Max(0, acknowledged - delivered)})");
        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.GreaterThan(0), "the disk filled: later batches are refused");
            Assert.That(delivered, Is.GreaterThanOrEqualTo(acknowledged), "nothing acknowledged is lost");
        });
    }
}
