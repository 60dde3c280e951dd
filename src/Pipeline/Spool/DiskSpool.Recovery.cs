using Microsoft.Data.Sqlite;

namespace Collector.Pipeline.Spool;

/// <summary>
/// Opening and recovery: the file is opened (or reopened, at most once per reopen interval, while it
/// is unavailable), its totals loaded and, when the cap was reduced, shrunk to fit; a file found
/// corrupt or unreadable at open or at run time is moved aside (<c>.corrupt-&lt;stamp&gt;</c>), what
/// it held counted as dropped, and an empty one takes its place.
/// </summary>
internal sealed partial class DiskSpool
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const int SqliteCantOpen = 14;
    private const int SqliteReadOnly = 8;

    private long _nextOpenAttemptMs;

    private bool EnsureDatabase([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ISpoolStore? database)
    {
        database = _database;
        if (database is not null)
        {
            return true;
        }

        if (_disposed || Environment.TickCount64 < _nextOpenAttemptMs || !TryOpenDatabase())
        {
            return false;
        }

        database = _database!;
        return true;
    }

    private bool TryOpenDatabase()
    {
        ISpoolStore? database = null;
        try
        {
            Directory.CreateDirectory(_files.Directory);
            try
            {
                database = _openStore(_files.DatabasePath, _budget);
                LoadState(database);
            }
            catch (Exception e) when (IsCorruption(e) || IsUnreadableFile(e))
            {
                database?.Dispose();
                database = null;
                var aside = _files.MoveAside(DateTime.UtcNow);
                _metrics.Error("open", "corrupt", e,
                    "Spool database {Path} is corrupt or unreadable ({Reason}); moved it aside to {Aside} and started an empty spool",
                    _files.DatabasePath, e.Message, aside);
                database = _openStore(_files.DatabasePath, _budget);
                LoadState(database);
            }
        }
        catch (Exception e) when (IsStorageError(e))
        {
            database?.Dispose();
            AdjustTotals(-_count, -_items, -_payloadBytes);
            _lastError = $"spool unavailable: {e.Message}";
            _nextOpenAttemptMs = Environment.TickCount64 + _reopenIntervalMs;
            _metrics.Error("open", ErrorKey(e), e,
                "Spool database {Path} cannot be opened; the exporter keeps batches in memory only and the spool retries in {Retry}",
                _files.DatabasePath, TimeSpan.FromMilliseconds(_reopenIntervalMs));
            return false;
        }

        _lastError = null;
        Volatile.Write(ref _database, database);
        return true;
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

        if (database.SetMaxPageCount(_budget.MaxPageCount) > _budget.MaxPageCount)
        {
            ShrinkToCap(database);
        }

        ReturnFreePages(database);
        database.Checkpoint();
    }

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

    /// <summary>The open database turned out corrupt: move it aside, count what it held as dropped, start empty.</summary>
    private void ReplaceCorruptDatabase(string op, Exception e)
    {
        long leasedItems = 0;
        foreach (var (id, items) in _leased)
        {
            leasedItems += items;
            _orphanedLeases[id] = items;
        }

        _leased.Clear();
        var lost = _items - leasedItems;
        _metrics.DroppedCorrupt.Add(Math.Max(0, lost));
        _metrics.Error(op, "corrupt", e,
            "Spool database {Path} became corrupt during {Operation}; {Items} spooled items are lost, replacing it with an empty spool",
            _files.DatabasePath, op, lost);

        _database?.Dispose();
        Volatile.Write(ref _database, null);
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _items, 0);
        Volatile.Write(ref _payloadBytes, 0);
        try
        {
            _files.MoveAside(DateTime.UtcNow);
        }
        catch (Exception moveError) when (moveError is IOException or UnauthorizedAccessException)
        {
            _lastError = $"spool unavailable: cannot move the corrupt database aside: {moveError.Message}";
            _nextOpenAttemptMs = Environment.TickCount64 + _reopenIntervalMs;
            _metrics.Error("open", "move_aside", moveError, "Cannot move the corrupt spool database {Path} aside", _files.DatabasePath);
            return;
        }

        TryOpenDatabase();
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
