using Collector.Pipeline;
using Collector.Pipeline.Spool;
using Serilog.Events;

namespace Collector.Tests.Spool;

/// <summary>The spool's handling of storage errors, with faults injected at chosen store calls over a real SQLite file.</summary>
public sealed class DiskSpoolFaultTests : SpoolTestBase
{
    private SpoolFaults _faults = new();

    /// <summary>NUnit shares one fixture instance between tests: each plans its own faults.</summary>
    [SetUp]
    public void NewFaults() => _faults = new SpoolFaults();

    [Test]
    public void A_full_disk_at_insert_fails_that_append_only()
    {
        var spool = Open(openStore: _faults.Opener);
        var kept = Append(spool, [1, 2, 3], items: 3);
        _faults.FailNext("Insert", SpoolFaults.Full);

        var failed = Append(spool, [4, 5], items: 2);
        var next = Append(spool, [6], items: 1);

        Assert.That(kept.IsStored, Is.True);
        Assert.That(failed.Status, Is.EqualTo(SpoolAppendStatus.Failed));
        Assert.That(failed.Error, Does.Contain("full"));
        Assert.That(next.IsStored, Is.True, "the spool stays usable after the error");
        Assert.That(spool.IsAvailable, Is.True);
        Assert.That((spool.Count, spool.Items), Is.EqualTo((2L, 4L)), "the failed append left nothing behind");
        Assert.That(Counter("collector_spool_errors_total", ("op", "append")), Is.EqualTo(1));
        Assert.That(Logs.Count(LogEventLevel.Error, "failed; the exporter keeps batches in memory"), Is.EqualTo(1));
        Assert.That(LeaseAll(spool).Select(e => e.Payload), Is.EqualTo(new[] { new byte[] { 1, 2, 3 }, [6] }));
    }

    [Test]
    public void An_io_error_at_commit_rolls_the_append_and_its_lease_back()
    {
        var spool = Open(openStore: _faults.Opener);
        _faults.FailNext("Commit", SpoolFaults.IoErrorWrite);

        var failed = spool.TryAppend(Signal.Traces, new byte[] { 9, 9 }, 2, lease: true);

        Assert.That(failed.Status, Is.EqualTo(SpoolAppendStatus.Failed));
        Assert.That(failed.Error, Does.Contain("disk I/O error"));
        Assert.That((spool.Count, spool.LeasedCount), Is.EqualTo((0L, 0)));
        spool.Dispose();

        var reopened = Open();
        Assert.That(reopened.Count, Is.Zero, "nothing of the rolled-back transaction reached the file");
        Assert.That(Append(reopened, [1]).IsStored, Is.True);
    }

    [Test]
    public void An_io_error_at_delete_ends_the_lease_and_the_batch_is_delivered_again()
    {
        var spool = Open(openStore: _faults.Opener);
        Append(spool, [1, 2], items: 2);
        Assert.That(spool.TryLeaseOldest(null, out var first), Is.True);
        _faults.FailNext("Delete", SpoolFaults.IoError);

        Assert.That(spool.Delete(first!.Id), Is.False);

        Assert.That(spool.LeasedCount, Is.Zero);
        Assert.That(spool.Count, Is.EqualTo(1), "at-least-once: an undeleted batch stays");
        Assert.That(Counter("collector_spool_errors_total", ("op", "delete")), Is.EqualTo(1));
        Assert.That(spool.TryLeaseOldest(null, out var again), Is.True);
        Assert.That(again!.Id, Is.EqualTo(first.Id));
        Assert.That(spool.Delete(again.Id), Is.True);
        Assert.That(spool.Count, Is.Zero);
    }

    [Test]
    public void A_spool_that_cannot_open_is_unavailable_until_a_reopen_succeeds()
    {
        _faults.FailNext("Open", SpoolFaults.IoError);

        var spool = Open(openStore: _faults.Opener, reopenInterval: TimeSpan.Zero);

        Assert.That(spool.IsAvailable, Is.False);
        Assert.That(spool.LastError, Does.StartWith("spool unavailable"));
        Assert.That(Counter("collector_spool_errors_total", ("op", "open")), Is.EqualTo(1));
        Assert.That(Append(spool, [1]).IsStored, Is.True, "the next use opens it again");
        Assert.That(spool.IsAvailable, Is.True);
        Assert.That(_faults.Calls("Open"), Is.EqualTo(2));
    }

    [Test]
    public void Corruption_reported_at_lease_moves_the_file_aside_salvages_every_readable_row_and_keeps_the_lease()
    {
        var spool = Open(openStore: _faults.Opener);
        Append(spool, [1], items: 4);
        Append(spool, [2], items: 5);
        Assert.That(spool.TryLeaseOldest(null, out var leased), Is.True);
        _faults.FailNext("FindOldest", SpoolFaults.Corrupt);

        Assert.That(spool.TryLeaseOldest(null, out _), Is.False);

        // The file itself was fine (the fault was injected): every row is salvaged under its id.
        Assert.That(spool.IsAvailable, Is.True, "a new file took the corrupt one's place");
        Assert.That(spool.Count, Is.EqualTo(2));
        Assert.That(Directory.GetFiles(Dir, "*.corrupt-*"), Is.Not.Empty);
        Assert.That(Counter("collector_spool_dropped_items_total", ("reason", "corrupt")), Is.Zero, "nothing is lost");
        Assert.That(spool.LeasedCount, Is.EqualTo(1), "the batch in flight stays leased");
        spool.Release(leased!.Id);
        Assert.That(Counter("collector_spool_dropped_items_total", ("reason", "corrupt")), Is.Zero, "released into the new file");
        Assert.That(LeaseAll(spool).Select(e => e.Payload[0]), Is.EqualTo(new byte[] { 1, 2 }), "oldest first, as before");
        Assert.That(Append(spool, [3]).Id, Is.GreaterThan(leased.Id), "ids continue above the old file's");
    }
}
