namespace Collector.Pipeline.Spool;

/// <summary>
/// A full disk (issue 14, loss path 5). In WAL mode a delete is a write: it appends frames to the WAL,
/// and the WAL cannot be checkpointed away either, because its pages would grow the database file.
/// So on a disk the spool itself filled, nothing it holds could be deleted and nothing new stored.
/// Instead a delivered batch whose delete the disk refuses is <em>deferred</em>: it stays in the file,
/// leased for good (never handed out again, never a drop_oldest victim), and its delete is retried
/// with the next delete that gets through. Once every row left in the file is a delivered one, the
/// file is removed and a new one started (that is what frees the space; ids continue above the old
/// ones), and appends work again. Deferred deletes live in memory only: a restart before the file is
/// removed replays those batches again (duplicates, never a loss).
/// </summary>
internal sealed partial class DiskSpool
{
    /// <summary>Delivered batches whose delete the full disk refused: id -> item count. Also in <see cref="_leased"/>.</summary>
    private readonly Dictionary<long, int> _deferredDeletes = [];

    /// <summary>Reused while retrying the deferred deletes (no allocation per retry).</summary>
    private readonly List<long> _deferredScratch = [];

    /// <summary>Deletes one row and updates the totals; false when it was not there. Throws storage errors.</summary>
    private bool DeleteRow(ISpoolStore database, long id)
    {
        var row = database.Delete(id);
        if (row is null)
        {
            return false;
        }

        _lastError = null;
        AdjustTotals(-1, -row.Value.Items, -row.Value.PayloadBytes);
        _metrics.Deleted.Increment();
        return true;
    }

    /// <summary>The disk refused the delete of a delivered batch: keep it out of replay until the delete gets through or the file goes.</summary>
    private void DeferDelete(ISpoolStore database, long id, int items, Exception error)
    {
        database.TryRollback();
        _lastError = error.Message;
        _deferredDeletes[id] = items;
        _leased[id] = items;
        _metrics.Error("delete", ErrorKey(error), error,
            "Spool database {Path}: the disk is full, a delivered batch cannot be deleted yet; it is not sent again, and the file is replaced once everything in it is delivered ({Deferred} deletes waiting)",
            _files.DatabasePath, _deferredDeletes.Count);
        TryReplaceDeliveredFile(database);
    }

    /// <summary>A delete got through, so there may be room again: retry the deferred ones (stops at the first the disk refuses).</summary>
    private void DeleteDeferred(ISpoolStore database)
    {
        if (_deferredDeletes.Count == 0)
        {
            return;
        }

        _deferredScratch.Clear();
        _deferredScratch.AddRange(_deferredDeletes.Keys);
        try
        {
            foreach (var id in _deferredScratch)
            {
                DeleteRow(database, id);
                _deferredDeletes.Remove(id);
                _leased.Remove(id);
            }
        }
        catch (Exception e) when (IsDiskFull(e))
        {
            database.TryRollback();
        }
    }

    /// <summary>
    /// When every row left is a delivered one whose delete was deferred: removes the file (freeing what
    /// it took), opens a new one and returns true (<paramref name="database"/> is closed then). Checked
    /// against the file itself (no row outside the deferred ones), so nothing undelivered goes with it.
    /// </summary>
    private bool TryReplaceDeliveredFile(ISpoolStore database)
    {
        if (_deferredDeletes.Count == 0 || _count != _deferredDeletes.Count)
        {
            return false;
        }

        try
        {
            if (database.FindOldest(0, null, _deferredDeletes) >= 0)
            {
                return false;
            }
        }
        catch (Exception e) when (IsStorageError(e))
        {
            // Not sure the file holds only delivered rows: keep it; the next delete checks again.
            return false;
        }

        var freed = BytesOnDisk;
        var batches = _deferredDeletes.Count;
        database.Dispose();
        Volatile.Write(ref _database, null);
        ForgetDeferredDeletes();
        try
        {
            File.Delete(_files.WalPath);
            File.Delete(_files.DatabasePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Reopened as it is below: the rows come back and are replayed (duplicates, never a loss).
            _metrics.Error("delete", e.GetType().Name, e, "Spool database {Path}: cannot remove the delivered file", _files.DatabasePath);
        }

        _logger.Warning(
            "Spool database {Path}: all {Batches} batches it held were delivered while the disk was full; removed the file ({Bytes} bytes) and started a new one",
            _files.DatabasePath, batches, freed);
        TryOpenDatabase();
        return true;
    }

    /// <summary>The file they were in is gone or replaced: deferred deletes no longer refer to anything.</summary>
    private void ForgetDeferredDeletes()
    {
        foreach (var id in _deferredDeletes.Keys)
        {
            _leased.Remove(id);
        }

        _deferredDeletes.Clear();
    }
}
