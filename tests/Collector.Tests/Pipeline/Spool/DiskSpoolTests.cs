using Collector.Pipeline;
using Collector.Pipeline.Spool;

namespace Collector.Tests.Spool;

public sealed class DiskSpoolTests : SpoolTestBase
{
    [Test]
    public void Append_lease_release_and_delete_round_trip()
    {
        var spool = Open();
        var random = new Random(1);
        var first = RandomPayload(random, 3_000);
        var second = RandomPayload(random, 70_000);

        var a = Append(spool, first, items: 5);
        var b = Append(spool, second, items: 7, Signal.Logs);

        Assert.That(a.Status, Is.EqualTo(SpoolAppendStatus.Appended));
        Assert.That(b.Status, Is.EqualTo(SpoolAppendStatus.Appended));
        Assert.That(b.Id, Is.GreaterThan(a.Id));
        Assert.That(spool.Count, Is.EqualTo(2));
        Assert.That(spool.Items, Is.EqualTo(12));
        Assert.That(spool.PayloadBytes, Is.EqualTo(73_000));

        Assert.That(spool.TryLeaseOldest(null, out var leased1), Is.True);
        Assert.That(leased1!.Id, Is.EqualTo(a.Id));
        Assert.That(leased1.Payload, Is.EqualTo(first));
        Assert.That(leased1.ItemCount, Is.EqualTo(5));
        Assert.That(leased1.Signal, Is.EqualTo(Signal.Traces));
        Assert.That(leased1.CreatedAt, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));

        Assert.That(spool.TryLeaseOldest(null, out var leased2), Is.True);
        Assert.That(leased2!.Id, Is.EqualTo(b.Id), "a leased batch is not handed out twice");
        Assert.That(leased2.Payload, Is.EqualTo(second));
        Assert.That(leased2.Signal, Is.EqualTo(Signal.Logs));
        Assert.That(spool.TryLeaseOldest(null, out _), Is.False);

        spool.Release(a.Id);
        Assert.That(spool.TryLeaseOldest(null, out var again), Is.True);
        Assert.That(again!.Id, Is.EqualTo(a.Id), "a released batch is leasable again");

        Assert.That(spool.Delete(a.Id), Is.True);
        Assert.That(spool.Delete(a.Id), Is.False, "already deleted");
        Assert.That(spool.Delete(b.Id), Is.True);
        Assert.That(spool.Count, Is.Zero);
        Assert.That(spool.Items, Is.Zero);
        Assert.That(spool.PayloadBytes, Is.Zero);
        Assert.That(spool.LeasedCount, Is.Zero);
        Assert.That(Counter("collector_spool_appended_batches_total"), Is.EqualTo(2));
        Assert.That(Counter("collector_spool_deleted_batches_total"), Is.EqualTo(2));
    }

    [Test]
    public void Leases_come_oldest_first_and_can_be_filtered_by_signal()
    {
        var spool = Open();
        var ids = new List<long>();
        for (var i = 0; i < 150; i++)
        {
            ids.Add(Append(spool, [(byte)i], items: 1, i % 3 == 0 ? Signal.Metrics : Signal.Traces).Id);
        }

        Assert.That(spool.TryLeaseOldest(Signal.Metrics, out var firstMetric), Is.True);
        Assert.That(firstMetric!.Id, Is.EqualTo(ids[0]));
        Assert.That(spool.TryLeaseOldest(Signal.Metrics, out var secondMetric), Is.True);
        Assert.That(secondMetric!.Id, Is.EqualTo(ids[3]));
        Assert.That(spool.TryLeaseOldest(Signal.Logs, out _), Is.False);

        // More leases than one scan step (64 rows) must still be skipped correctly.
        var rest = LeaseAll(spool);
        var expected = ids.Where(id => id != ids[0] && id != ids[3]).ToList();
        Assert.That(rest.Select(e => e.Id), Is.EqualTo(expected));
    }

    [Test]
    public void Reopening_replays_everything_not_deleted_including_leased_batches()
    {
        var spool = Open();
        var payloads = Enumerable.Range(0, 10).Select(i => RandomPayload(new Random(i), 1_000 + (i * 9_000))).ToList();
        var ids = payloads.Select(p => Append(spool, p, items: 2).Id).ToList();

        Assert.That(spool.TryLeaseOldest(null, out var e0), Is.True);
        Assert.That(spool.TryLeaseOldest(null, out var e1), Is.True);
        Assert.That(spool.TryLeaseOldest(null, out var e2), Is.True);
        spool.Delete(e0!.Id);
        spool.Release(e2!.Id);

        // e1 stays leased (delivery in flight) when the process goes down.
        spool.Dispose();
        Assert.That(File.Exists(DatabasePath() + "-wal"), Is.False, "close checkpoints the WAL away");

        var reopened = Open();
        Assert.That(reopened.Count, Is.EqualTo(9));
        Assert.That(reopened.Items, Is.EqualTo(18));
        var replay = LeaseAll(reopened);
        Assert.That(replay.Select(e => e.Id), Is.EqualTo(ids.Skip(1)));
        Assert.That(replay[0].Id, Is.EqualTo(e1!.Id));
        for (var i = 0; i < replay.Count; i++)
        {
            Assert.That(replay[i].Payload, Is.EqualTo(payloads[i + 1]));
        }

        var next = Append(reopened, [1, 2, 3]);
        Assert.That(next.Id, Is.GreaterThan(ids[^1]), "ids keep growing across restarts");
    }

    [Test]
    public void Committed_appends_survive_a_process_kill()
    {
        // Copying the files while the connection is open is what a kill -9 leaves behind:
        // committed transactions live in the WAL, nothing was checkpointed or closed.
        var spool = Open();
        var payloads = Enumerable.Range(0, 20).Select(i => RandomPayload(new Random(100 + i), 20_000)).ToList();
        foreach (var payload in payloads)
        {
            Assert.That(Append(spool, payload, items: 3).IsStored, Is.True);
        }

        Assert.That(File.Exists(DatabasePath() + "-wal"), Is.True);
        var crashDir = Path.Combine(Dir, "after-crash");
        Directory.CreateDirectory(crashDir);
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            if (File.Exists(DatabasePath() + suffix))
            {
                File.Copy(DatabasePath() + suffix, Path.Combine(crashDir, SpoolFiles.FileNameFor(Exporter) + suffix));
            }
        }

        var recovered = Open(directory: crashDir);
        Assert.That(recovered.IsAvailable, Is.True);
        Assert.That(recovered.Count, Is.EqualTo(20));
        Assert.That(recovered.Items, Is.EqualTo(60));
        Assert.That(LeaseAll(recovered).Select(e => e.Payload), Is.EqualTo(payloads));
    }

    [Test]
    public void A_slice_of_a_larger_buffer_is_stored_exactly()
    {
        var spool = Open();
        var buffer = RandomPayload(new Random(5), 10_000);
        spool.TryAppend(Signal.Traces, buffer.AsMemory(1_000, 5_000), 1);

        Assert.That(spool.TryLeaseOldest(null, out var entry), Is.True);
        Assert.That(entry!.Payload, Is.EqualTo(buffer.AsSpan(1_000, 5_000).ToArray()));
        Assert.That(spool.PayloadBytes, Is.EqualTo(5_000));
    }

    [Test]
    public void Gauges_report_the_current_spool_and_file_names_are_sanitised()
    {
        var spool = Open(name: "otlphttp/backend");
        Append(spool, new byte[50_000], items: 4);
        Append(spool, new byte[10], items: 6);

        Assert.That(File.Exists(Path.Combine(Dir, "otlphttp_backend.spool.db")), Is.True);
        Assert.That(Metrics.Read("collector_spool_batches", ("exporter", Exporter)), Is.EqualTo(2));
        Assert.That(Metrics.Read("collector_spool_items", ("exporter", Exporter)), Is.EqualTo(10));
        Assert.That(Metrics.Read("collector_spool_bytes", ("exporter", Exporter)), Is.EqualTo(spool.BytesOnDisk).And.GreaterThan(50_000));

        // A spool reopened under the same label reports itself, not the disposed one.
        spool.Dispose();
        Assert.That(Metrics.Read("collector_spool_batches", ("exporter", Exporter)), Is.Zero);
        var reopened = Open(name: "otlphttp/backend");
        Assert.That(reopened.Count, Is.EqualTo(2));
        Assert.That(Metrics.Read("collector_spool_batches", ("exporter", Exporter)), Is.EqualTo(2));
    }

    [Test]
    public void Concurrent_appenders_leasers_and_deleters_keep_exact_totals()
    {
        var spool = Open(maxBytes: 50 * MiB);
        const int Appenders = 8;
        const int PerAppender = 150;
        var appended = new System.Collections.Concurrent.ConcurrentBag<(long Id, int Items)>();
        var deletedItems = 0L;
        var deletedBatches = 0L;
        var appending = Appenders;

        var writers = Enumerable.Range(0, Appenders).Select(w => Task.Run(() =>
        {
            var random = new Random(w);
            for (var i = 0; i < PerAppender; i++)
            {
                var items = random.Next(1, 50);
                var result = Append(spool, RandomPayload(random, random.Next(100, 20_000)), items);
                Assert.That(result.Status, Is.EqualTo(SpoolAppendStatus.Appended));
                appended.Add((result.Id, items));
            }

            Interlocked.Decrement(ref appending);
        })).ToArray();

        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (Volatile.Read(ref appending) > 0 || spool.Count > 0)
            {
                if (spool.TryLeaseOldest(null, out var entry))
                {
                    Assert.That(spool.Delete(entry.Id), Is.True, "a lease is exclusive, so only one reader deletes it");
                    Interlocked.Add(ref deletedItems, entry.ItemCount);
                    Interlocked.Increment(ref deletedBatches);
                }
            }
        })).ToArray();

        Assert.That(Task.WaitAll([.. writers, .. readers], TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(appended.Select(a => a.Id).Distinct().Count(), Is.EqualTo(Appenders * PerAppender));
        Assert.That(deletedBatches, Is.EqualTo(Appenders * PerAppender));
        Assert.That(deletedItems, Is.EqualTo(appended.Sum(a => a.Items)));
        Assert.That(spool.Count, Is.Zero);
        Assert.That(spool.Items, Is.Zero);
        Assert.That(Counter("collector_spool_appended_batches_total"), Is.EqualTo(Appenders * PerAppender));
        Assert.That(Counter("collector_spool_errors_total"), Is.Zero);
    }
}
