using Collector.Pipeline.Spool;

namespace Collector.Tests.Spool;

public sealed class DiskSpoolCapTests : SpoolTestBase
{
    private const long Cap = 5 * MiB;

    [TestCase(1 * MiB)]
    [TestCase(5 * MiB)]
    [TestCase(50 * MiB)]
    [TestCase(2048 * MiB)]
    public void The_budget_keeps_database_and_wal_under_the_cap(long cap)
    {
        var budget = SpoolBudget.For(cap);

        Assert.That((budget.MaxPageCount * SpoolBudget.PageSize) + budget.MaxWalBytes, Is.LessThanOrEqualTo(cap));
        Assert.That(SpoolBudget.PagesToInsert(budget.MaxPayloadBytes), Is.LessThanOrEqualTo(budget.MaxRowPages));
        Assert.That(SpoolBudget.PagesToInsert(budget.MaxPayloadBytes + 1), Is.GreaterThan(budget.MaxRowPages));
        Assert.That(budget.MaxPageCount * SpoolBudget.PageSize, Is.GreaterThan(cap * 3 / 5), "most of the cap holds data");
    }

    [Test]
    public void Reject_policy_never_exceeds_the_cap_and_counts_exactly()
    {
        var spool = Open(Cap, SpoolFullPolicy.Reject);
        var run = Overfill(spool, totalBytes: 20 * MiB);

        Assert.That(run.MaxBytesOnDisk, Is.LessThanOrEqualTo(Cap));
        Assert.That(run.Failed, Is.Zero);
        Assert.That(run.FullItems, Is.GreaterThan(0), "20 MiB cannot fit into 5 MiB");
        Assert.That(spool.Items, Is.EqualTo(run.StoredItems), "reject never deletes what was stored");
        Assert.That(spool.Count, Is.EqualTo(run.StoredIds.Count));
        Assert.That(Counter("collector_spool_rejected_items_total", ("reason", "full")), Is.EqualTo(run.FullItems));
        Assert.That(Counter("collector_spool_dropped_items_total"), Is.Zero);
        Assert.That(spool.PayloadBytes, Is.GreaterThan(Cap * 3 / 5), "the budget is not wasted");
        Assert.That(LeaseAll(spool).Select(e => e.Id), Is.EqualTo(run.StoredIds));
    }

    [Test]
    public void Drop_oldest_keeps_the_newest_and_counts_every_dropped_item()
    {
        var spool = Open(Cap, SpoolFullPolicy.DropOldest);
        var run = Overfill(spool, totalBytes: 20 * MiB);

        Assert.That(run.MaxBytesOnDisk, Is.LessThanOrEqualTo(Cap));
        Assert.That(run.Failed + run.FullItems, Is.Zero, "drop_oldest always makes room");
        Assert.That(run.DroppedItems, Is.GreaterThan(0));
        Assert.That(run.DroppedItems, Is.EqualTo(run.StoredItems - spool.Items));
        Assert.That(Counter("collector_spool_dropped_items_total", ("reason", "drop_oldest")), Is.EqualTo(run.DroppedItems));

        var left = LeaseAll(spool).Select(e => e.Id).ToList();
        Assert.That(left, Is.EqualTo(run.StoredIds.TakeLast(left.Count)), "what is left is the newest, in order");
        Assert.That(left[^1], Is.EqualTo(run.StoredIds[^1]));
    }

    [Test]
    public void Drop_oldest_never_drops_leased_batches()
    {
        var spool = Open(Cap, SpoolFullPolicy.DropOldest);
        var first = Append(spool, new byte[100_000], items: 9);
        Assert.That(spool.TryLeaseOldest(null, out var leased), Is.True);

        var run = Overfill(spool, totalBytes: 12 * MiB);

        Assert.That(run.MaxBytesOnDisk, Is.LessThanOrEqualTo(Cap));
        Assert.That(run.DroppedItems, Is.GreaterThan(0));
        Assert.That(spool.Delete(leased!.Id), Is.True, "the batch in delivery is still there to acknowledge");
        Assert.That(first.Id, Is.EqualTo(leased.Id));
    }

    [Test]
    public void Full_when_everything_left_is_leased()
    {
        var spool = Open(Cap, SpoolFullPolicy.DropOldest);
        var random = new Random(3);
        while (Append(spool, RandomPayload(random, 200_000), items: 2).Status == SpoolAppendStatus.Appended)
        {
        }

        // The append that did not fit dropped the oldest; lease the rest and try again.
        var leased = LeaseAll(spool);
        var result = Append(spool, RandomPayload(random, 200_000), items: 2);

        Assert.That(result.Status, Is.EqualTo(SpoolAppendStatus.Full));
        Assert.That(spool.Count, Is.EqualTo(leased.Count));
        Assert.That(Counter("collector_spool_rejected_items_total", ("reason", "full")), Is.EqualTo(2));
    }

    [Test]
    public void A_payload_larger_than_the_budget_is_too_large_and_the_largest_allowed_fits()
    {
        var spool = Open(Cap, SpoolFullPolicy.DropOldest);
        var tooLarge = Append(spool, new byte[spool.MaxPayloadBytes + 1], items: 11);
        var largest = Append(spool, RandomPayload(new Random(4), (int)spool.MaxPayloadBytes), items: 1);

        Assert.That(tooLarge.Status, Is.EqualTo(SpoolAppendStatus.TooLarge));
        Assert.That(tooLarge.Error, Does.Contain("exceeds"));
        Assert.That(largest.Status, Is.EqualTo(SpoolAppendStatus.Appended));
        Assert.That(spool.BytesOnDisk, Is.LessThanOrEqualTo(Cap));
        Assert.That(Counter("collector_spool_rejected_items_total", ("reason", "too_large")), Is.EqualTo(11));
        Assert.That(spool.MaxPayloadBytes, Is.GreaterThan(256 * 1024));
    }

    [Test]
    public void Files_shrink_after_the_spool_drains_and_appends_continue()
    {
        var spool = Open(Cap, SpoolFullPolicy.DropOldest);
        Overfill(spool, totalBytes: 8 * MiB);
        Assert.That(spool.BytesOnDisk, Is.GreaterThan(3 * MiB));

        foreach (var entry in LeaseAll(spool))
        {
            Assert.That(spool.Delete(entry.Id), Is.True);
        }

        Assert.That(spool.Count, Is.Zero);
        Assert.That(spool.BytesOnDisk, Is.LessThan(512 * 1024), "incremental vacuum returned the free pages");

        var again = Overfill(spool, totalBytes: 8 * MiB);
        Assert.That(again.MaxBytesOnDisk, Is.LessThanOrEqualTo(Cap));
        Assert.That(again.Failed + again.FullItems, Is.Zero);
    }

    [Test]
    public void Reopening_with_a_smaller_cap_drops_the_oldest_to_fit()
    {
        var spool = Open(Cap, SpoolFullPolicy.Reject);
        var run = Overfill(spool, totalBytes: 6 * MiB);
        var itemsBefore = spool.Items;
        spool.Dispose();

        var smaller = Open(2 * MiB, SpoolFullPolicy.Reject);

        Assert.That(smaller.BytesOnDisk, Is.LessThanOrEqualTo(2 * MiB));
        Assert.That(smaller.Items, Is.LessThan(itemsBefore));
        Assert.That(Counter("collector_spool_dropped_items_total", ("reason", "cap_reduced")), Is.EqualTo(itemsBefore - smaller.Items));
        var left = LeaseAll(smaller).Select(e => e.Id).ToList();
        Assert.That(left, Is.EqualTo(run.StoredIds.TakeLast(left.Count)));
        Assert.That(Append(smaller, new byte[10_000]).IsStored, Is.True);
        Assert.That(smaller.BytesOnDisk, Is.LessThanOrEqualTo(2 * MiB));
    }

    /// <summary>
    /// Appends random incompressible payloads of 10-200 KB until <paramref name="totalBytes"/> were offered,
    /// sampling the file sizes after every append and from a background thread during the run.
    /// </summary>
    private static OverfillRun Overfill(DiskSpool spool, long totalBytes)
    {
        var random = new Random(42);
        var run = new OverfillRun();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            long max = 0;
            while (!stop.IsCancellationRequested)
            {
                max = Math.Max(max, spool.BytesOnDisk);
            }

            return max;
        });

        for (long offered = 0; offered < totalBytes;)
        {
            var payload = RandomPayload(random, random.Next(10_000, 200_000));
            var items = random.Next(1, 100);
            offered += payload.Length;
            var result = spool.TryAppend(Collector.Pipeline.Signal.Traces, payload, items);
            run.MaxBytesOnDisk = Math.Max(run.MaxBytesOnDisk, spool.BytesOnDisk);
            switch (result.Status)
            {
                case SpoolAppendStatus.Appended:
                case SpoolAppendStatus.DroppedOldest:
                    run.StoredItems += items;
                    run.StoredIds.Add(result.Id);
                    run.DroppedItems += result.DroppedItems;
                    break;
                case SpoolAppendStatus.Full:
                    run.FullItems += items;
                    break;
                default:
                    run.Failed++;
                    break;
            }
        }

        stop.Cancel();
        run.MaxBytesOnDisk = Math.Max(run.MaxBytesOnDisk, sampler.GetAwaiter().GetResult());
        return run;
    }

    private sealed class OverfillRun
    {
        public long MaxBytesOnDisk { get; set; }

        public long StoredItems { get; set; }

        public long DroppedItems { get; set; }

        public long FullItems { get; set; }

        public int Failed { get; set; }

        public List<long> StoredIds { get; } = [];
    }
}
