using Collector.Pipeline;
using Collector.Pipeline.Spool;
using Collector.Tests.TestSupport;
using Serilog.Events;

namespace Collector.Tests.Spool;

/// <summary>
/// Issue 14 loss path 5, the spool's side: a full disk must still let the spool open, replay what it
/// holds and (by deleting it) free space. SQLITE_FULL is injected at chosen store calls, so these run
/// anywhere; the last test uses a real full file system where mounting a tmpfs is allowed.
/// </summary>
public sealed class DiskSpoolDiskFullTests : SpoolTestBase
{
    private SpoolFaults _faults = new();

    [SetUp]
    public void NewFaults() => _faults = new SpoolFaults();

    [Test]
    public void A_full_disk_at_the_checkpoint_of_the_open_still_opens_the_spool_and_everything_in_it_replays()
    {
        var spool = Open();
        for (var i = 1; i <= 5; i++)
        {
            Assert.That(Append(spool, [(byte)i], items: 10).IsStored, Is.True);
        }

        spool.Dispose();
        _faults.FailNext("Checkpoint", SpoolFaults.Full);

        var reopened = Open(openStore: _faults.Opener);

        Assert.That(reopened.IsAvailable, Is.True, "a full disk does not keep the spool from opening");
        Assert.That((reopened.Count, reopened.Items), Is.EqualTo((5L, 50L)));
        Assert.That(LeaseAll(reopened).Select(e => e.Payload[0]), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5 }));
        Assert.That(Counter("collector_spool_errors_total", ("op", "open")), Is.EqualTo(1));
        Assert.That(Logs.Count(LogEventLevel.Error, "opened on a full disk"), Is.EqualTo(1));
    }

    [Test]
    public void Deletes_a_full_disk_refuses_are_deferred_and_the_file_is_replaced_once_all_it_holds_is_delivered()
    {
        var spool = Open(openStore: _faults.Opener);
        for (var i = 1; i <= 4; i++)
        {
            Append(spool, [(byte)i], items: 3);
        }

        var leased = LeaseAll(spool);
        for (var call = 1; call <= 4; call++)
        {
            _faults.FailNext("Delete", SpoolFaults.Full, call);
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.That(spool.Delete(leased[i].Id), Is.True, "delivered: it will not be sent again");
        }

        Assert.Multiple(() =>
        {
            Assert.That(spool.Count, Is.EqualTo(4), "the rows are still in the file");
            Assert.That(spool.LeasedCount, Is.EqualTo(1), "deferred deletes are not leases");
            Assert.That(spool.TryLeaseOldest(null, out _), Is.False, "a delivered batch is not handed out again");
        });

        Assert.That(spool.Delete(leased[3].Id), Is.True);

        var next = Append(spool, [9], items: 1);
        Assert.Multiple(() =>
        {
            Assert.That((spool.Count, spool.LeasedCount), Is.EqualTo((1L, 0)), "every row was delivered: the file was replaced");
            Assert.That(next.IsStored, Is.True, "appends work again");
            Assert.That(next.Id, Is.GreaterThan(leased[3].Id), "ids continue above the old file's");
            Assert.That(Logs.Count(LogEventLevel.Warning, "removed the file"), Is.EqualTo(1));
        });

        spool.Dispose();
        Assert.That(LeaseAll(Open()).Select(e => e.Payload[0]), Is.EqualTo(new byte[] { 9 }), "nothing delivered comes back");
    }

    [Test]
    public void A_delete_that_gets_through_also_deletes_the_deferred_ones_and_a_restart_before_replays_them_again()
    {
        var spool = Open(openStore: _faults.Opener);
        for (var i = 1; i <= 3; i++)
        {
            Append(spool, [(byte)i], items: 2);
        }

        var leased = LeaseAll(spool);
        _faults.FailNext("Delete", SpoolFaults.Full);
        Assert.That(spool.Delete(leased[0].Id), Is.True);
        spool.Dispose();

        // Deferred deletes live in memory: after a restart the batch is delivered again (a duplicate, never a loss).
        var restarted = Open(openStore: _faults.Opener);
        Assert.That(restarted.Count, Is.EqualTo(3));
        leased = LeaseAll(restarted);
        _faults.FailNext("Delete", SpoolFaults.Full);
        Assert.That(restarted.Delete(leased[0].Id), Is.True);
        Assert.That(restarted.Count, Is.EqualTo(3));

        Assert.That(restarted.Delete(leased[1].Id), Is.True, "space again");

        Assert.That((restarted.Count, restarted.Items), Is.EqualTo((1L, 2L)), "the deferred delete went through with it");
        restarted.Dispose();
        Assert.That(LeaseAll(Open()).Select(e => e.Payload[0]), Is.EqualTo(new byte[] { 3 }));
    }

    [Test]
    public void When_the_last_undelivered_delete_gets_through_but_the_deferred_ones_still_fail_the_file_is_replaced()
    {
        var spool = Open(openStore: _faults.Opener);
        Append(spool, [1], items: 2);
        Append(spool, [2], items: 2);
        var leased = LeaseAll(spool);
        _faults.FailNext("Delete", SpoolFaults.Full);
        Assert.That(spool.Delete(leased[0].Id), Is.True);

        // The second delete takes the last free bytes: retrying the deferred one fails again.
        _faults.FailNext("Delete", SpoolFaults.Full, call: 2);
        Assert.That(spool.Delete(leased[1].Id), Is.True);

        Assert.That((spool.Count, spool.LeasedCount), Is.EqualTo((0L, 0)), "nothing undelivered was left: the file was replaced rather than waiting for a delete that never comes");
        Assert.That(Append(spool, [3]).IsStored, Is.True);
        spool.Dispose();
        Assert.That(LeaseAll(Open()).Select(e => e.Payload[0]), Is.EqualTo(new byte[] { 3 }));
    }

    /// <summary>
    /// Why a full disk kept the spool from opening: <c>PRAGMA auto_vacuum</c> rewrote the header of an
    /// existing file at every open. Opening (and replaying from) an existing file must not write it.
    /// </summary>
    [Test]
    public void Opening_an_existing_spool_file_and_leasing_from_it_writes_nothing()
    {
        var spool = Open();
        Append(spool, [1, 2, 3], items: 3);
        spool.Dispose();
        var stamp = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(DatabasePath(), stamp);

        var reopened = Open();
        Assert.That(reopened.TryLeaseOldest(null, out var entry), Is.True);

        Assert.That(entry!.Payload, Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(File.GetLastWriteTimeUtc(DatabasePath()), Is.EqualTo(stamp), "the database file was not written");
        Assert.That(SpoolFiles.SizeOf(DatabasePath() + "-wal"), Is.Zero, "nor was the WAL");
    }

    /// <summary>
    /// A real full file system: a 2 MiB tmpfs filled by the spool itself (its cap is larger), then the
    /// spool reopened on it. Needs root and permission to mount, which CI may not grant: explicit, run
    /// it by name (tests/README.md); the injected SQLITE_FULL tests above run everywhere.
    /// </summary>
    [Test]
    [Explicit("needs root and permission to mount a tmpfs")]
    public void On_a_real_full_disk_the_spool_opens_replays_every_batch_and_then_takes_appends_again()
    {
        using var tmpfs = TmpfsMount.TryMount(Path.Combine(Dir, "tmpfs"), "2m");
        if (tmpfs is null)
        {
            Assert.Fail("mounting a tmpfs is not allowed here: run this test as root on a machine that allows mounts");
            return;
        }

        var mountPoint = tmpfs.Path;
        var random = new Random(5);
        var spool = Open(maxBytes: 50 * MiB, directory: mountPoint);
        var stored = 0;
        SpoolAppendResult result;
        while ((result = Append(spool, RandomPayload(random, 20_000), items: 10)).IsStored)
        {
            stored++;
        }

        Assert.That(result.Error, Does.Contain("full"), "the disk filled before the spool's cap");
        spool.Dispose();
        Assert.That(SpoolLocation.Problem(mountPoint, "another.spool.db"), Does.Contain("No space left on device"), "a new spool could not be created here");
        Assert.That(SpoolLocation.Problem(mountPoint, SpoolFiles.FileNameFor(Exporter)), Is.Null, "collector validate agrees with the start: this spool opens");

        var reopened = Open(maxBytes: 50 * MiB, directory: mountPoint);
        Assert.That(reopened.IsAvailable, Is.True, reopened.LastError);
        Assert.That(Append(reopened, RandomPayload(random, 20_000), items: 10).Status, Is.EqualTo(SpoolAppendStatus.Failed), "still full");
        var replayed = 0;
        while (reopened.TryLeaseOldest(null, out var entry))
        {
            Assert.That(reopened.Delete(entry.Id), Is.True);
            replayed++;
        }

        TestContext.Out.WriteLine($"stored {stored} batches until the disk was full; replayed {replayed} of {stored} after reopening on the full disk");
        Assert.That(replayed, Is.EqualTo(stored));
        Assert.That(Append(reopened, RandomPayload(random, 20_000), items: 10).IsStored, Is.True, "replay freed the space");
        reopened.Dispose();
    }
}
