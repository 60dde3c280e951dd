using Collector.Pipeline.Spool;
using Collector.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Serilog.Events;

namespace Collector.Tests.Spool;

public sealed class DiskSpoolFailureTests : SpoolTestBase
{
    [Test]
    public void A_garbage_file_is_moved_aside_and_replaced()
    {
        var garbage = RandomPayload(new Random(9), 64 * 1024);
        File.WriteAllBytes(DatabasePath(), garbage);

        var spool = Open();

        Assert.That(spool.IsAvailable, Is.True);
        var aside = Directory.GetFiles(Dir, SpoolFiles.FileNameFor(Exporter) + ".corrupt-*");
        Assert.That(aside, Has.Length.EqualTo(1));
        Assert.That(File.ReadAllBytes(aside[0]), Is.EqualTo(garbage), "the evidence is kept as it was");
        Assert.That(Logs.Count(LogEventLevel.Error, "moved it aside"), Is.EqualTo(1));
        Assert.That(Counter("collector_spool_errors_total", ("op", "open")), Is.EqualTo(1));

        var appended = Append(spool, [1, 2, 3], items: 3);
        Assert.That(appended.Status, Is.EqualTo(SpoolAppendStatus.Appended));
        Assert.That(spool.TryLeaseOldest(null, out var entry), Is.True);
        Assert.That(entry!.Payload, Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void A_spool_with_damaged_pages_is_moved_aside_at_start()
    {
        var spool = Open();
        for (var i = 0; i < 30; i++)
        {
            Append(spool, RandomPayload(new Random(i), 30_000));
        }

        spool.Dispose();

        // Keep the header valid, wreck the b-tree pages behind it.
        using (var file = new FileStream(DatabasePath(), FileMode.Open, FileAccess.Write))
        {
            file.Position = 4096;
            file.Write(RandomPayload(new Random(10), 64 * 1024));
        }

        var reopened = Open();

        Assert.That(reopened.IsAvailable, Is.True);
        Assert.That(reopened.Count, Is.Zero);
        Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Is.Not.Empty);
        Assert.That(Logs.Count(LogEventLevel.Error, "corrupt"), Is.EqualTo(1));
        Assert.That(Append(reopened, [7]).IsStored, Is.True);
    }

    [Test]
    public void Corruption_found_at_run_time_replaces_the_database_salvages_what_reads_and_counts_the_loss()
    {
        var spool = Open(maxBytes: 20 * MiB);
        var random = new Random(11);
        var ids = new List<long>();
        for (var i = 0; i < 100; i++)
        {
            ids.Add(Append(spool, RandomPayload(random, 100_000), items: 3).Id);
        }

        Assert.That(spool.TryLeaseOldest(null, out var inFlight), Is.True);

        // Overwrite everything behind the header while the spool is open. 10 MB written since the
        // oldest rows left SQLite's 2 MB page cache, so the next lease reads garbage from disk.
        using (var file = new FileStream(DatabasePath(), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = 4096;
            file.Write(RandomPayload(random, (int)file.Length - 4096));
        }

        Assert.That(spool.TryLeaseOldest(null, out _), Is.False);

        // Nearly everything was overwritten: only the pages the moved-aside WAL still held are salvaged.
        Assert.That(spool.IsAvailable, Is.True, "replaced by a new spool");
        Assert.That(spool.Count, Is.LessThan(10));
        Assert.That(Logs.Count(LogEventLevel.Error, "became corrupt"), Is.EqualTo(1));
        Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Is.Not.Empty);
        Assert.That(Counter("collector_spool_dropped_items_total", ("reason", "corrupt")) + spool.Items, Is.EqualTo(99 * 3), "all but the batch in flight: salvaged or counted lost");

        // The batch in flight: back into the new file if it was salvaged, else lost too, and counted.
        spool.Release(inFlight!.Id);
        Assert.That(Counter("collector_spool_dropped_items_total", ("reason", "corrupt")) + spool.Items, Is.EqualTo(100 * 3));

        var fresh = Append(spool, [1, 2], items: 1);
        Assert.That(fresh.Status, Is.EqualTo(SpoolAppendStatus.Appended));
        Assert.That(fresh.Id, Is.GreaterThan(ids[^1]), "new ids never collide with leases of the old file");
        Assert.That(LeaseAll(spool)[^1].Id, Is.EqualTo(fresh.Id), "after the salvaged batches, oldest first");
    }

    [Test]
    public void A_foreign_sqlite_database_is_moved_aside()
    {
        using (var connection = new SqliteConnection($"Data Source={DatabasePath()};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE something_else(x)";
            command.ExecuteNonQuery();
        }

        var spool = Open();

        Assert.That(spool.IsAvailable, Is.True);
        Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Has.Length.EqualTo(1));
        Assert.That(Append(spool, [1]).IsStored, Is.True);
    }

    [Test]
    public void Only_the_newest_corrupt_copies_are_kept()
    {
        for (var i = 0; i < 5; i++)
        {
            File.WriteAllBytes(DatabasePath(), RandomPayload(new Random(i), 8192));
            Open().Dispose();
        }

        Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Has.Length.EqualTo(3));
        Assert.That(Logs.Count(LogEventLevel.Error, "moved it aside"), Is.EqualTo(5));
    }

    [Test]
    public async Task An_unwritable_directory_leaves_the_spool_unavailable_without_throwing_until_it_is_fixed()
    {
        // chmod does not stop root (tests run as root), but nobody can create a directory under a regular file.
        var blocker = Path.Combine(Dir, "not-a-directory");
        await File.WriteAllTextAsync(blocker, "x");
        var spoolDir = Path.Combine(blocker, "spool");

        var spool = Open(directory: spoolDir, reopenInterval: TimeSpan.FromMilliseconds(50));

        Assert.That(spool.IsAvailable, Is.False);
        Assert.That(spool.LastError, Does.StartWith("spool unavailable"));
        var failed = Append(spool, [1, 2, 3]);
        Assert.That(failed.Status, Is.EqualTo(SpoolAppendStatus.Failed));
        Assert.That(failed.Error, Is.Not.Null);
        Assert.That(spool.TryLeaseOldest(null, out _), Is.False);
        Assert.That(spool.Delete(1), Is.False);
        Assert.That(spool.BytesOnDisk, Is.Zero);
        Assert.That(Counter("collector_spool_errors_total", ("op", "open")), Is.GreaterThanOrEqualTo(1));
        Assert.That(Logs.Count(LogEventLevel.Error, "cannot be opened"), Is.EqualTo(1));

        // The operator fixes the path: the spool opens on its own at a later use.
        File.Delete(blocker);
        Directory.CreateDirectory(blocker);
        await Poll.UntilAsync(() => Append(spool, [4, 5]).IsStored, TimeSpan.FromSeconds(5), "the spool to reopen");

        Assert.That(spool.IsAvailable, Is.True);
        Assert.That(spool.Count, Is.EqualTo(1));
        Assert.That(File.Exists(Path.Combine(spoolDir, SpoolFiles.FileNameFor(Exporter))), Is.True);
    }

    [Test]
    public void A_second_open_of_the_same_file_is_refused_not_corrupted()
    {
        var first = Open();
        Append(first, [1, 2, 3], items: 4);

        var second = Open(reopenInterval: TimeSpan.FromHours(1));

        Assert.That(second.IsAvailable, Is.False, "the exclusive lock keeps a second writer out");
        Assert.That(second.TryAppend(Collector.Pipeline.Signal.Traces, new byte[] { 9 }, 1).Status, Is.EqualTo(SpoolAppendStatus.Failed));
        Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Is.Empty, "a busy file is not mistaken for a corrupt one");
        Assert.That(first.Items, Is.EqualTo(4));
        Assert.That(Append(first, [4]).IsStored, Is.True);
    }

    [Test]
    public void Operations_after_dispose_report_failure_without_throwing()
    {
        var spool = Open();
        var appended = Append(spool, [1]);
        spool.Dispose();
        spool.Dispose();

        Assert.That(Append(spool, [2]).Status, Is.EqualTo(SpoolAppendStatus.Failed));
        Assert.That(spool.TryLeaseOldest(null, out _), Is.False);
        Assert.That(spool.Delete(appended.Id), Is.False);
        Assert.That(spool.LastError, Is.EqualTo("spool is closed"));
    }
}
