using Microsoft.Data.Sqlite;

namespace Collector.Pipeline.Spool;

/// <summary>
/// Opening and recovery: the file is opened (or reopened, at most once per reopen interval, while it
/// is unavailable), its totals loaded and, when the cap was reduced, shrunk to fit; a file found
/// corrupt or unreadable at open or at run time is moved aside (<c>.corrupt-&lt;stamp&gt;</c>), a new
/// one takes its place and the readable rows of the old one are salvaged into it (what could not be
/// read is counted as dropped); a file deleted from its directory while open is recreated from the
/// open one.
/// </summary>
internal sealed partial class DiskSpool
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const int SqliteCantOpen = 14;
    private const int SqliteReadOnly = 8;
    private const int SqliteFull = 13;
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    /// <summary>Leased ids whose rows a salvage copied into the new database: their leases stay valid.</summary>
    private readonly HashSet<long> _salvagedLeases = [];

    private long _nextOpenAttemptMs;
    private long _nextFileCheckMs;
    private Exception? _openFailure;

    private bool EnsureDatabase([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ISpoolStore? database)
    {
        database = _database;
        if (database is not null)
        {
            if (Environment.TickCount64 >= _nextFileCheckMs)
            {
                CheckFileStillThere(database);
                database = _database;
            }

            if (database is not null)
            {
                return true;
            }
        }

        if (_disposed || Environment.TickCount64 < _nextOpenAttemptMs || !TryOpenDatabase())
        {
            return false;
        }

        database = _database!;
        return true;
    }

    /// <summary>
    /// Opens the file (creating the directory), moving a corrupt or unreadable one aside and salvaging
    /// its readable rows into the new one. <paramref name="salvageFrom"/>: a file already moved aside
    /// (corruption found at run time) whose rows go into the new database.
    /// </summary>
    private bool TryOpenDatabase(bool logFailure = true, string? salvageFrom = null)
    {
        ISpoolStore? database = null;
        try
        {
            Directory.CreateDirectory(_files.Directory);
            try
            {
                database = _openStore(_files.DatabasePath, _budget);
                if (salvageFrom is not null)
                {
                    Salvage(database, salvageFrom, "run time");
                }

                LoadState(database);
            }
            catch (Exception e) when (IsCorruption(e) || IsUnreadableFile(e))
            {
                database?.Dispose();
                database = null;
                var aside = _files.MoveAside(DateTime.UtcNow);
                _metrics.Error("open", "corrupt", e,
                    "Spool database {Path} is corrupt or unreadable ({Reason}); moved it aside to {Aside}, salvaging its readable batches into a new spool",
                    _files.DatabasePath, e.Message, aside);
                database = _openStore(_files.DatabasePath, _budget);
                var tally = Salvage(database, aside, "open");

                // Found at open, the file's totals are unknown: what the salvage saw lost is what is counted.
                _metrics.CorruptBatches.Add(tally.LostBatches);
                _metrics.DroppedCorrupt.Add(tally.LostItemsKnown);
                LoadState(database);
            }
        }
        catch (Exception e) when (IsStorageError(e))
        {
            database?.Dispose();
            AdjustTotals(-_count, -_items, -_payloadBytes);
            _openFailure = e;
            _lastError = $"spool unavailable: {e.Message}";
            _nextOpenAttemptMs = Environment.TickCount64 + _reopenIntervalMs;
            if (logFailure)
            {
                _metrics.Error("open", ErrorKey(e), e,
                    "Spool database {Path} cannot be opened; the exporter keeps batches in memory only and the spool retries in {Retry}",
                    _files.DatabasePath, TimeSpan.FromMilliseconds(_reopenIntervalMs));
            }

            return false;
        }

        _lastError = null;
        _openFailure = null;
        _nextFileCheckMs = Environment.TickCount64 + _fileCheckIntervalMs;
        Volatile.Write(ref _database, database);
        return true;
    }

    /// <summary>Why the last open failed, in one line for a start error (<c>on_unavailable: fail</c>).</summary>
    private string UnavailableReason()
    {
        if (SpoolLocation.Problem(_files.Directory, Path.GetFileName(_files.DatabasePath)) is { } problem)
        {
            return problem;
        }

        return _openFailure switch
        {
            UnauthorizedAccessException => $"permission denied: {_files.DatabasePath}",
            SqliteException { SqliteErrorCode: SqliteFull } => $"disk full: {_files.Directory}",
            SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked } => $"in use by another process: {_files.DatabasePath}",
            { } e => $"cannot open {_files.DatabasePath}: {e.Message}",
            null => $"cannot open {_files.DatabasePath}",
        };
    }

    /// <summary>
    /// Copies the readable rows of the damaged file <paramref name="aside"/> into the new database,
    /// under their old ids, in transactions bounded like appends; logs and counts what was lost.
    /// </summary>
    private SalvageTally Salvage(ISpoolStore database, string aside, string when)
    {
        using var source = SpoolSalvage.TryOpen(aside);
        if (source is null)
        {
            _logger.Warning("Spool database {Aside} is unreadable as a whole: nothing could be salvaged from it (found at {When})", aside, when);
            return default;
        }

        long frames = 0;
        database.Begin();
        var tally = source.CopyReadable(entry =>
        {
            var pages = SpoolBudget.PagesToInsert(entry.Payload.Length);
            if (frames > 0 && frames + pages > _budget.TxnFrameLimit)
            {
                database.Commit();
                CheckpointIfDue(database);
                database.Begin();
                frames = 0;
            }

            database.Restore(entry);
            frames += pages;
            if (_leased.ContainsKey(entry.Id))
            {
                _salvagedLeases.Add(entry.Id);
            }
        });
        database.Commit();
        database.Checkpoint();
        _logger.Warning(
            "Salvaged {Copied} batches ({Items} items) from the damaged spool database {Aside} (found at {When}); {Lost} batches ({LostItems} items known) could not be read",
            tally.CopiedBatches, tally.CopiedItems, aside, when, tally.LostBatches, tally.LostItemsKnown);
        return tally;
    }

    /// <summary>
    /// Loss path "spool directory deleted while running": SQLite would keep writing to the deleted file
    /// and everything would vanish with the process. When the file is gone from its path, a compact
    /// copy of the open (deleted) database is written to the path and reopened; ids, and so leases,
    /// carry over. If that fails the open file stays in use (nothing is lost while the process lives)
    /// and the next check tries again.
    /// </summary>
    private void CheckFileStillThere(ISpoolStore database)
    {
        _nextFileCheckMs = Environment.TickCount64 + _fileCheckIntervalMs;
        if (File.Exists(_files.DatabasePath))
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(_files.Directory);
            database.CopyTo(_files.DatabasePath);
        }
        catch (Exception e) when (IsStorageError(e))
        {
            TryDelete(_files.DatabasePath);
            _metrics.Error("recreate", ErrorKey(e), e,
                "Spool database {Path} was deleted while open and cannot be recreated; batches are kept in the deleted file until the process ends, retrying in {Retry}",
                _files.DatabasePath, TimeSpan.FromMilliseconds(_fileCheckIntervalMs));
            return;
        }

        // Closed before the copy is opened: closing deletes the "-wal" next to the path by name.
        database.Dispose();
        Volatile.Write(ref _database, null);
        _metrics.Recreated.Increment();
        _logger.Error(
            "Spool database {Path} was deleted while open (directory removed?); recreated it with the {Batches} batches ({Items} items) it held",
            _files.DatabasePath, _count, _items);
        TryOpenDatabase();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A partial copy that cannot be deleted makes the next copy fail; that is logged then.
        }
    }

    private void LoadState(ISpoolStore database)
    {
        var totals = database.LoadTotals();
        if (totals.LastId < _lastId)
        {
            // A replacement file: ids continue above those still leased from the old one.
            database.SeedIds(_lastId);
        }
        else
        {
            _lastId = totals.LastId;
        }

        Volatile.Write(ref _count, totals.Count);
        Volatile.Write(ref _items, totals.Items);
        Volatile.Write(ref _payloadBytes, totals.PayloadBytes);

        try
        {
            if (database.SetMaxPageCount(_budget.MaxPageCount) > _budget.MaxPageCount)
            {
                ShrinkToCap(database);
            }

            ReturnFreePages(database);
            database.Checkpoint();
        }
        catch (Exception e) when (IsDiskFull(e))
        {
            // Loss path 5: a full disk must not keep the spool from opening, or what it holds is never
            // replayed. Maintenance waits; reads work from the file and its WAL; appends fail (write_ahead
            // refuses them) until replay frees space (DiskSpool.DiskFull.cs).
            database.TryRollback();
            _metrics.Error("open", ErrorKey(e), e,
                "Spool database {Path} opened on a full disk: its batches are replayed, new ones are refused until space frees",
                _files.DatabasePath);
        }
    }

    private static bool IsDiskFull(Exception e) => e is SqliteException { SqliteErrorCode: SqliteFull };

    /// <summary>The file is larger than the (reduced) cap: release free pages, then drop the oldest batches until it fits.</summary>
    private void ShrinkToCap(ISpoolStore database)
    {
        long dropped = 0;
        while (true)
        {
            var (used, pageCount, free) = database.PageCounts();
            if (free > 0)
            {
                database.VacuumChunk();
                database.Checkpoint();
                if (database.PageCounts().FreePages < free)
                {
                    continue;
                }
            }

            if (pageCount <= _budget.MaxPageCount)
            {
                break;
            }

            // Drop in transactions bounded like appends, so the WAL stays within its reserve.
            var deleted = 0;
            long frames = 0;
            database.Begin();
            while (used > _budget.MaxPageCount && frames < _budget.TxnFrameLimit)
            {
                var id = database.FindOldest(0, null, _leased);
                var row = id < 0 ? null : database.Delete(id);
                if (row is null)
                {
                    break;
                }

                deleted++;
                AdjustTotals(-1, -row.Value.Items, -row.Value.PayloadBytes);
                dropped += row.Value.Items;
                frames += SpoolBudget.FramesToDelete(SpoolBudget.RowPages(row.Value.PayloadBytes));
                used = database.PageCounts().UsedPages;
            }

            database.Commit();
            if (deleted == 0)
            {
                break;
            }
        }

        database.SetMaxPageCount(_budget.MaxPageCount);
        if (dropped == 0)
        {
            return;
        }

        _metrics.DroppedCapReduced.Add(dropped);
        _logger.Warning("Spool {Path} was larger than its cap of {Cap} bytes; dropped {Items} of the oldest items to fit", _files.DatabasePath, _budget.CapBytes, dropped);
    }

    private void OnStorageError(string op, Exception e)
    {
        _lastError = e.Message;
        if (IsCorruption(e))
        {
            ReplaceCorruptDatabase(op, e);
            return;
        }

        _metrics.Error(op, ErrorKey(e), e, "Spool {Operation} failed; the exporter keeps batches in memory", op);
    }

    /// <summary>
    /// The open database turned out corrupt: move it aside, salvage its readable rows into a new one
    /// (leases of salvaged rows stay valid), count the rest as dropped.
    /// </summary>
    private void ReplaceCorruptDatabase(string op, Exception e)
    {
        // Delivered rows waiting for their delete are not leases to keep: a salvaged one is sent again.
        ForgetDeferredDeletes();
        var batchesBefore = _count;
        var itemsBefore = _items;
        _database?.Dispose();
        Volatile.Write(ref _database, null);
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _items, 0);
        Volatile.Write(ref _payloadBytes, 0);
        string? aside;
        try
        {
            aside = _files.MoveAside(DateTime.UtcNow);
        }
        catch (Exception moveError) when (moveError is IOException or UnauthorizedAccessException)
        {
            aside = null;
            _lastError = $"spool unavailable: cannot move the corrupt database aside: {moveError.Message}";
            _nextOpenAttemptMs = Environment.TickCount64 + _reopenIntervalMs;
            _metrics.Error("open", "move_aside", moveError, "Cannot move the corrupt spool database {Path} aside", _files.DatabasePath);
        }

        _salvagedLeases.Clear();
        if (aside is not null)
        {
            TryOpenDatabase(salvageFrom: aside);
        }

        // Leases whose rows were not salvaged have nothing to go back to: counted when released.
        long orphanedBatches = 0, orphanedItems = 0;
        foreach (var (id, items) in _leased)
        {
            if (!_salvagedLeases.Contains(id))
            {
                orphanedBatches++;
                orphanedItems += items;
                _orphanedLeases[id] = items;
            }
        }

        foreach (var id in _orphanedLeases.Keys)
        {
            _leased.Remove(id);
        }

        _salvagedLeases.Clear();
        var lostItems = Math.Max(0, itemsBefore - _items - orphanedItems);
        var lostBatches = Math.Max(0, batchesBefore - _count - orphanedBatches);
        _metrics.DroppedCorrupt.Add(lostItems);
        _metrics.CorruptBatches.Add(lostBatches);
        _metrics.Error(op, "corrupt", e,
            "Spool database {Path} became corrupt during {Operation}; {Batches} batches ({Items} items) could not be salvaged and are lost",
            _files.DatabasePath, op, lostBatches, lostItems);
    }

    private static bool IsCorruption(Exception e) =>
        e is SpoolFormatException || e is SqliteException { SqliteErrorCode: SqliteCorrupt or SqliteNotADatabase };

    /// <summary>SQLite could not open an existing file that we may not read or write: replace it like a corrupt one.</summary>
    private bool IsUnreadableFile(Exception e)
    {
        if (e is not SqliteException { SqliteErrorCode: SqliteCantOpen or SqliteReadOnly } || !File.Exists(_files.DatabasePath))
        {
            return false;
        }

        try
        {
            using var probe = new FileStream(_files.DatabasePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
