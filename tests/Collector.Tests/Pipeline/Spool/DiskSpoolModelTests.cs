using Collector.Pipeline;
using Collector.Pipeline.Spool;

namespace Collector.Tests.Spool;

/// <summary>
/// Random sequences of append / lease / release / delete / restart against a real spool file and a
/// plain in-memory model of what it should hold; after every step what the spool hands out (and its
/// totals) must match the model.
/// </summary>
public sealed class DiskSpoolModelTests : SpoolTestBase
{
    private const int Steps = 600;
    private static readonly Signal[] Signals = [Signal.Traces, Signal.Metrics, Signal.Logs];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    public void Random_operations_match_the_model(int seed)
    {
        var random = new Random(seed);
        var spool = Open();
        var rows = new List<Row>();
        var leased = new HashSet<long>();
        long lastId = 0;
        for (var step = 0; step < Steps; step++)
        {
            var roll = random.Next(100);
            string op;
            if (roll < 3)
            {
                op = "restart";
                spool.Dispose();
                spool = Open();
                leased.Clear();
            }
            else if (roll < (rows.Count > 40 ? 20 : 45))
            {
                var signal = Signals[random.Next(Signals.Length)];
                var payload = RandomPayload(random, random.Next(1, 300));
                var items = random.Next(1, 6);
                var lease = random.Next(3) == 0;
                op = $"append {signal} lease={lease}";
                var result = spool.TryAppend(signal, payload, items, lease);
                Assert.That(result.Status, Is.EqualTo(SpoolAppendStatus.Appended), op);
                Assert.That(result.Id, Is.GreaterThan(lastId), "ids only grow, also across restarts");
                lastId = result.Id;
                rows.Add(new Row(result.Id, signal, payload, items));
                if (lease)
                {
                    leased.Add(result.Id);
                }
            }
            else if (roll < 70)
            {
                Signal? signal = random.Next(4) == 0 ? null : Signals[random.Next(Signals.Length)];
                op = $"lease {signal}";
                var expected = rows.Find(r => !leased.Contains(r.Id) && (signal is null || r.Signal == signal));
                var found = spool.TryLeaseOldest(signal, out var entry);
                Assert.That(found, Is.EqualTo(expected is not null), op);
                if (expected is not null)
                {
                    AssertSame(entry!, expected, op);
                    leased.Add(expected.Id);
                }
            }
            else if (roll < 80)
            {
                var id = PickId(random, leased.ToList(), lastId);
                op = $"release {id}";
                spool.Release(id);
                leased.Remove(id);
            }
            else
            {
                var id = PickId(random, rows.ConvertAll(r => r.Id), lastId);
                op = $"delete {id}";
                var existed = rows.RemoveAll(r => r.Id == id) == 1;
                Assert.That(spool.Delete(id), Is.EqualTo(existed), op);
                leased.Remove(id);
            }

            AssertMatches(spool, rows, leased, $"seed {seed} step {step}: {op}");
        }
    }

    /// <summary>Mostly an id the model holds, sometimes one that is gone or never was.</summary>
    private static long PickId(Random random, List<long> ids, long lastId) =>
        ids.Count > 0 && random.Next(5) > 0 ? ids[random.Next(ids.Count)] : random.NextInt64(1, lastId + 2);

    /// <summary>Totals, leases, and every unleased batch in order: leased all, compared, then released again.</summary>
    private static void AssertMatches(DiskSpool spool, List<Row> rows, HashSet<long> leased, string context)
    {
        Assert.That(spool.IsAvailable, Is.True, context);
        Assert.That(spool.Count, Is.EqualTo(rows.Count), context);
        Assert.That(spool.Items, Is.EqualTo(rows.Sum(r => (long)r.Items)), context);
        Assert.That(spool.PayloadBytes, Is.EqualTo(rows.Sum(r => (long)r.Payload.Length)), context);
        Assert.That(spool.LeasedCount, Is.EqualTo(leased.Count), context);

        var handedOut = LeaseAll(spool);
        var expected = rows.FindAll(r => !leased.Contains(r.Id));
        Assert.That(handedOut, Has.Count.EqualTo(expected.Count), context);
        for (var i = 0; i < expected.Count; i++)
        {
            AssertSame(handedOut[i], expected[i], context);
        }

        foreach (var entry in handedOut)
        {
            spool.Release(entry.Id);
        }
    }

    private static void AssertSame(SpoolEntry entry, Row row, string context)
    {
        Assert.That((entry.Id, entry.Signal, entry.ItemCount), Is.EqualTo((row.Id, row.Signal, row.Items)), context);
        Assert.That(entry.Payload, Is.EqualTo(row.Payload), context);
    }

    private sealed record Row(long Id, Signal Signal, byte[] Payload, int Items);
}
