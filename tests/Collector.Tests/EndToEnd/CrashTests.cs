using System.Net;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Durable;

/// <summary>The real collector binary as a child process: kill -9 under load, and a corrupt spool at start.</summary>
[NonParallelizable]
public sealed class CrashTests : DurableTestBase
{
    private string WriteConfig(string yaml)
    {
        var path = Path.Combine(Dir, "collector.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Sends until the collector answers 200 (it is up); those spans count as acknowledged too.</summary>
    private static async Task WaitUntilServingAsync(OtlpClient client, CollectorProcess collector)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await client.SendAsync(spans: 1) != HttpStatusCode.OK)
        {
            if (collector.HasExited || DateTime.UtcNow > deadline)
            {
                Assert.Fail("the collector did not start serving:\n" + collector.Output);
            }

            await Task.Delay(50);
        }
    }

    [Test]
    public async Task Kill_9_in_the_middle_of_a_write_ahead_load_loses_no_acknowledged_span()
    {
        int receiver = Ports.Free(), backendPort = Ports.Free();
        var config = WriteConfig(Yaml(receiver, backendPort, "write_ahead"));
        using var client = new OtlpClient(receiver);
        long failuresBefore;

        using (var collector = CollectorProcess.Start("--config", config))
        {
            await WaitUntilServingAsync(client, collector);
            failuresBefore = client.OtherFailures;

            // The backend is down, so everything acknowledged is only on disk when the kill comes.
            using var stop = new CancellationTokenSource();
            var senders = new Task[4];
            for (var s = 0; s < senders.Length; s++)
            {
                senders[s] = Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await client.SendAsync(spans: 10, payloadBytes: 200);
                    }
                });
            }

            await Poll.UntilAsync(() => client.Acked.Count >= 3000 || collector.HasExited, Deadline, "a load to be under way");
            collector.Signal("KILL");
            var exit = await collector.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
            await Task.WhenAll(senders);
            Assert.That(exit, Is.EqualTo(137), "killed by SIGKILL, not exited by itself:\n" + collector.Output);
        }

        var acked = client.Acked.ToHashSet();
        Assert.That(acked, Has.Count.GreaterThanOrEqualTo(3000));
        Assert.That(client.OtherFailures, Is.GreaterThan(failuresBefore), "requests were in flight when the process died");

        await using var backend = await HttpTestBackend.StartAsync(backendPort);
        using var restarted = CollectorProcess.Start("--config", config);
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(acked) || restarted.HasExited, Deadline, "every acknowledged span after the restart");
        Assert.That(received.ContainsAll(acked), Is.True, restarted.Output);
    }

    [Test]
    public async Task A_corrupt_spool_file_at_start_is_moved_aside_and_new_data_is_delivered()
    {
        int receiver = Ports.Free();
        await using var backend = await HttpTestBackend.StartAsync();
        var backendPort = new Uri(backend.BaseUrl).Port;
        Directory.CreateDirectory(SpoolDir);
        var garbage = new byte[64 * 1024];
        Random.Shared.NextBytes(garbage);
        await File.WriteAllBytesAsync(Path.Combine(SpoolDir, "otlphttp.spool.db"), garbage);
        var config = WriteConfig(Yaml(receiver, backendPort, "write_ahead"));

        using var collector = CollectorProcess.Start("--config", config);
        using var client = new OtlpClient(receiver);
        await WaitUntilServingAsync(client, collector);
        for (var i = 0; i < 5; i++)
        {
            Assert.That(await client.SendAsync(spans: 10), Is.EqualTo(HttpStatusCode.OK));
        }

        var received = new ReceivedSpans(backend);
        var acked = client.Acked.ToHashSet();
        await Poll.UntilAsync(() => received.ContainsAll(acked), Deadline, "new data delivered through the replaced spool");

        var aside = Directory.GetFiles(SpoolDir, "otlphttp.spool.db.corrupt-*");
        Assert.Multiple(() =>
        {
            Assert.That(aside, Has.Length.EqualTo(1), "the corrupt file is kept aside for inspection");
            Assert.That(File.ReadAllBytes(aside[0]), Is.EqualTo(garbage));
            Assert.That(collector.Output, Does.Contain("moved it aside"), "a loud log line says so");
            Assert.That(collector.HasExited, Is.False);
        });
    }
}
