using Collector.Pipeline.Spool;
using Collector.Tests.TestSupport;
using Serilog.Events;

namespace Collector.Tests.Spool;

/// <summary>
/// Issue 14's spool loss paths, on real SQLite files: the spool directory deleted under a running
/// spool (3), and a file with damaged pages whose readable rows must not be thrown away with it (4).
/// </summary>
public sealed class DiskSpoolLossPathTests : SpoolTestBase
{
    private const int ItemsPerRow = 40;

    [Test]
    public async Task A_spool_directory_deleted_while_running_is_recreated_and_what_was_appended_is_replayed_after_restart()
    {
        var spool = Open(fileCheckInterval: TimeSpan.FromMilliseconds(100));
        var random = new Random(3);
        var written = new SortedDictionary<long, byte[]>();
        void AppendOne()
        {
            var payload = RandomPayload(random, 2_000 + written.Count);
            var result = Append(spool, payload, items: ItemsPerRow);
            Assert.That(result.IsStored, Is.True, result.Error);
            written[result.Id] = payload;
        }

        for (var i = 0; i < 30; i++)
        {
            AppendOne();
        }

        Assert.That(spool.TryLeaseOldest(null, out var inFlight), Is.True);

        Directory.Delete(Dir, recursive: true);
        var beforeDeletion = written.Count;

        // Appends keep working; the first one after the check interval notices the file is gone.
        await Poll.UntilAsync(
            () =>
            {
                AppendOne();
                return Counter("collector_spool_recreated_total") == 1;
            },
            TimeSpan.FromSeconds(10),
            "the deleted spool file to be recreated");
        for (var i = 0; i < 20; i++)
        {
            AppendOne();
        }

        var afterDeletion = written.Count - beforeDeletion;
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(DatabasePath()), Is.True, "the file is back at its path");
            Assert.That(Logs.Count(LogEventLevel.Error, "was deleted while open"), Is.EqualTo(1), "logged once");
            Assert.That(Counter("collector_spool_recreated_total"), Is.EqualTo(1));
            Assert.That(spool.Count, Is.EqualTo(written.Count));
        });

        // The batch in flight during the deletion keeps its lease: its delivery deletes it from the new file.
        Assert.That(spool.Delete(inFlight!.Id), Is.True);
        written.Remove(inFlight.Id);
        spool.Dispose();

        var replayed = LeaseAll(Open());
        TestContext.Out.WriteLine(
            $"spool directory deleted while running: {replayed.Count} of {written.Count} batches replayed after restart " +
            $"({afterDeletion} appended after the deletion, {beforeDeletion - 1} before it and not delivered)");
        Assert.That(replayed.Select(e => e.Id), Is.EqualTo(written.Keys), "every batch, oldest first");
        Assert.That(replayed.Select(e => e.Payload), Is.EqualTo(written.Values));
    }

    [Test]
    public void A_spool_whose_file_cannot_be_recreated_keeps_working_on_the_open_file_and_retries()
    {
        var spool = Open(fileCheckInterval: TimeSpan.Zero);
        Append(spool, [1, 2, 3], items: 3);

        // The directory comes back as a regular file: nothing can be created there, not even by root.
        Directory.Delete(Dir, recursive: true);
        File.WriteAllText(Dir, "x");
        try
        {
            var appended = Append(spool, [4, 5], items: 2);

            Assert.That(appended.IsStored, Is.True, "the open (deleted) file still takes appends");
            Assert.That(spool.Count, Is.EqualTo(2));
            Assert.That(Counter("collector_spool_errors_total", ("op", "recreate")), Is.GreaterThanOrEqualTo(1));
            Assert.That(Counter("collector_spool_recreated_total"), Is.Zero);

            File.Delete(Dir);
            Assert.That(Append(spool, [6], items: 1).IsStored, Is.True);
            Assert.That(Counter("collector_spool_recreated_total"), Is.EqualTo(1), "the next check recreates it");
            Assert.That(File.Exists(DatabasePath()), Is.True);
            Assert.That(spool.Count, Is.EqualTo(3));
        }
        finally
        {
            if (File.Exists(Dir))
            {
                File.Delete(Dir);
            }
        }
    }

    [Test]
    public void Two_damaged_pages_cost_only_the_rows_on_them_the_readable_rows_are_salvaged_and_the_lost_ones_counted()
    {
        const int Rows = 49;
        var spool = Open();
        var random = new Random(5);
        var written = new Dictionary<long, byte[]>();
        for (var i = 0; i < Rows; i++)
        {
            var payload = RandomPayload(random, 12_000);
            written[Append(spool, payload, items: ItemsPerRow).Id] = payload;
        }

        spool.Dispose();

        // Two pages in the middle of the file overwritten, the header and the b-tree roots left intact.
        var pages = new FileInfo(DatabasePath()).Length / 4096;
        using (var file = new FileStream(DatabasePath(), FileMode.Open, FileAccess.Write))
        {
            foreach (var page in (long[])[pages / 2, (pages / 2) + 7])
            {
                file.Position = page * 4096;
                file.Write(RandomPayload(random, 4096));
            }
        }

        var reopened = Open();
        var salvaged = LeaseAll(reopened);
        var intact = salvaged.Count(e => written.TryGetValue(e.Id, out var payload) && payload.AsSpan().SequenceEqual(e.Payload));
        var lostBatches = Counter("collector_spool_corrupt_batches_total");
        var lostItems = Counter("collector_spool_dropped_items_total", ("reason", "corrupt"));
        TestContext.Out.WriteLine(
            $"two damaged pages of {pages}: {intact} of {Rows} batches ({intact * ItemsPerRow} of {Rows * ItemsPerRow} items) delivered intact, " +
            $"{salvaged.Count - intact} copied with a damaged payload, {lostBatches} batches counted lost ({lostItems} items with a readable count)");

        Assert.Multiple(() =>
        {
            Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Is.Not.Empty, "the damaged file is kept aside");
            Assert.That(intact, Is.GreaterThanOrEqualTo(Rows - 4), "two pages hold the data of a few rows at most");
            Assert.That(salvaged.Count + lostBatches, Is.EqualTo(Rows), "every row is either salvaged or counted lost");
            Assert.That(lostItems, Is.LessThanOrEqualTo(lostBatches * ItemsPerRow));
            Assert.That(reopened.Items, Is.EqualTo(salvaged.Count * ItemsPerRow));
            Assert.That(Logs.Count(LogEventLevel.Warning, "Salvaged"), Is.EqualTo(1));
        });
        Assert.That(Append(reopened, [7]).Id, Is.GreaterThan(written.Keys.Max()), "ids continue above the salvaged ones");
    }

    [Test]
    public void Corruption_found_at_run_time_salvages_the_readable_rows_and_counts_the_lost_items_exactly()
    {
        var spool = Open(maxBytes: 20 * MiB);
        var random = new Random(8);
        var written = new Dictionary<long, byte[]>();
        for (var i = 0; i < 120; i++)
        {
            var payload = RandomPayload(random, 1_500);
            written[Append(spool, payload, items: 3).Id] = payload;
        }

        Assert.That(spool.TryLeaseOldest(null, out var inFlight), Is.True);

        // 10 MB of other appends push the old pages out of SQLite's cache, so they are read from disk again.
        var filler = new List<long>();
        for (var i = 0; i < 100; i++)
        {
            filler.Add(Append(spool, RandomPayload(random, 100_000), items: 1).Id);
        }

        foreach (var id in filler)
        {
            Assert.That(spool.Delete(id), Is.True);
        }

        // Damage one page among the small rows (2 rows per leaf page): a lease reading there fails with SQLITE_CORRUPT.
        using (var file = new FileStream(DatabasePath(), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = 20 * 4096;
            file.Write(RandomPayload(random, 4096));
        }

        var leasedBefore = LeaseAll(spool);
        Assert.That(Logs.Count(LogEventLevel.Error, "became corrupt"), Is.EqualTo(1), "the damage was found at run time");

        // After the replacement, the rest still in the spool reads back intact.
        var leasedAfter = LeaseAll(spool);
        var lostItems = Counter("collector_spool_dropped_items_total", ("reason", "corrupt"));
        var lostBatches = Counter("collector_spool_corrupt_batches_total");
        TestContext.Out.WriteLine($"run-time corruption: {spool.Count} of 120 batches kept, {lostBatches} counted lost ({lostItems} items)");
        Assert.Multiple(() =>
        {
            Assert.That(spool.Count, Is.GreaterThanOrEqualTo(110), "most rows survive");
            Assert.That(spool.Items + lostItems, Is.EqualTo(120 * 3), "kept + counted lost = what was spooled");
            Assert.That(lostItems, Is.EqualTo(lostBatches * 3));
            Assert.That(leasedBefore.Concat(leasedAfter).All(e => written[e.Id].AsSpan().SequenceEqual(e.Payload)), Is.True);
        });
        Assert.That(spool.Delete(inFlight!.Id), Is.True, "the batch in flight keeps its lease: its row was salvaged under its id");
    }
}
