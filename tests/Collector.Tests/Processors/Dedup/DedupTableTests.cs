using Collector.Processors.Dedup;

namespace Collector.Tests.AiProcessing.Dedup;

public sealed class DedupTableTests
{
    [Test]
    public void A_hash_is_a_duplicate_within_the_window_and_new_after_it()
    {
        var table = new DedupTable(maxEntries: 10, window: 100);

        Assert.That(table.TryAdd(42, now: 0), Is.True);
        Assert.That(table.TryAdd(42, now: 99), Is.False);
        Assert.That(table.TryAdd(42, now: 100), Is.True, "the window counts from the first sighting");
        Assert.That(table.TryAdd(42, now: 150), Is.False);
        Assert.That(table.Count, Is.EqualTo(1));
    }

    [Test]
    public void When_full_the_oldest_entry_is_evicted_and_counted()
    {
        var table = new DedupTable(maxEntries: 3, window: 1_000);
        for (ulong h = 1; h <= 3; h++)
        {
            table.TryAdd(h, now: (long)h);
        }

        Assert.That(table.TryAdd(4, now: 4), Is.True);

        Assert.That(table.Count, Is.EqualTo(3));
        Assert.That(table.Evictions, Is.EqualTo(1));
        Assert.That(table.TryAdd(3, now: 5), Is.False, "younger entries stay");
        Assert.That(table.TryAdd(1, now: 5), Is.True, "the oldest was forgotten");
        Assert.That(table.Evictions, Is.EqualTo(2));
    }

    [Test]
    public void Expired_entries_are_not_evictions()
    {
        var table = new DedupTable(maxEntries: 2, window: 10);
        table.TryAdd(1, 0);
        table.TryAdd(2, 0);

        table.TryAdd(3, 20);
        table.TryAdd(4, 20);

        Assert.That(table.Evictions, Is.Zero);
        Assert.That(table.Count, Is.EqualTo(2));
    }

    [Test]
    public void A_clock_that_steps_back_does_not_break_the_table()
    {
        var table = new DedupTable(maxEntries: 4, window: 10);
        table.TryAdd(1, 100);

        Assert.That(table.TryAdd(2, 50), Is.True);
        Assert.That(table.TryAdd(1, 60), Is.False, "time is held at its last value, so 1 is still within its window");
    }

    /// <summary>
    /// Random adds (many colliding in the index: hashes share low bits) against a plain
    /// queue + set model of the same semantics; checks that deletion keeps every probe chain intact.
    /// </summary>
    [Test]
    public void Behaves_like_a_fifo_set_with_expiry_under_random_load()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            var max = random.Next(1, 64);
            var window = random.Next(1, 200);
            var table = new DedupTable(max, window);
            var order = new Queue<(ulong Hash, long Time)>();
            var set = new HashSet<ulong>();
            long now = 0;
            long evictions = 0;
            for (var step = 0; step < 5_000; step++)
            {
                now += random.Next(3);

                // Few distinct values and equal low bits: long probe chains and frequent repeats.
                var hash = ((ulong)random.Next(max * 3) << 40) | 0x1234;
                while (order.Count > 0 && order.Peek().Time <= now - window)
                {
                    set.Remove(order.Dequeue().Hash);
                }

                var expected = !set.Contains(hash);
                if (expected)
                {
                    if (order.Count == max)
                    {
                        set.Remove(order.Dequeue().Hash);
                        evictions++;
                    }

                    order.Enqueue((hash, now));
                    set.Add(hash);
                }

                // Assert only on a mismatch: 200,000 steps of Assert.That would dominate the run time.
                if (table.TryAdd(hash, now) != expected || table.Count != order.Count)
                {
                    Assert.Fail($"seed {seed} step {step}: expected new={expected}, count {order.Count}; table count {table.Count}");
                }
            }

            Assert.That(table.Evictions, Is.EqualTo(evictions));
        }
    }

    [Test]
    public void Memory_is_fixed_at_construction_and_about_26_bytes_per_entry()
    {
        const int maxEntries = 100_000;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var table = new DedupTable(maxEntries, window: long.MaxValue / 4);
        var afterConstruction = GC.GetTotalMemory(forceFullCollection: true);

        // Ten times more distinct identities than fit: the table must not grow, nor allocate per item.
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (ulong i = 0; i < 10UL * maxEntries; i++)
        {
            table.TryAdd((i * 0x9E3779B97F4A7C15UL) ^ (i >> 7), (long)i);
        }

        var allocatedByInserts = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var afterFill = GC.GetTotalMemory(forceFullCollection: true);
        var measuredPerEntry = (afterConstruction - before) / (double)maxEntries;
        TestContext.Out.WriteLine($"dedup table: {measuredPerEntry:0.0} bytes/entry measured, {table.BytesPerEntry:0.0} by array sizes, {allocatedByInserts} bytes allocated by {10 * maxEntries} inserts");

        Assert.That(table.Count, Is.EqualTo(maxEntries));
        Assert.That(table.Evictions, Is.EqualTo(9 * maxEntries));
        Assert.That(allocatedByInserts, Is.Zero);
        Assert.That(afterFill - afterConstruction, Is.LessThan(64 * 1024), "filling does not grow memory");
        Assert.That(measuredPerEntry, Is.InRange(20, 34));
        Assert.That(table.BytesPerEntry, Is.InRange(24, 34));
        GC.KeepAlive(table);
    }
}
