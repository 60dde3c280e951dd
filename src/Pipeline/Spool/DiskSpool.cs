using Collector.Pipeline.Telemetry;
using Microsoft.Data.Sqlite;

namespace Collector.Pipeline.Spool;

/// <summary>
/// A disk spool of serialized batches for one exporter: one SQLite file in WAL mode, bounded by a
/// byte cap that database + WAL never exceed, at-least-once (a batch is deleted only when the
/// caller says it was delivered). Thread-safe: one connection serialised by a lock; concurrent
/// appends are group-committed in one transaction.
/// <para>
/// Never throws for I/O or database trouble: operations report <see cref="SpoolAppendStatus.Failed"/>
/// or false, count <c>collector_spool_errors_total</c> and log (rate-limited). When the file cannot be
/// opened at all the spool stays <em>unavailable</em> (<see cref="IsAvailable"/> false,
/// <see cref="LastError"/>) and retries opening on use, at most once per reopen interval.
/// </para>
/// </summary>
internal sealed class DiskSpool : IDisposable
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const int SqliteCantOpen = 14;
    private const int SqliteReadOnly = 8;

    private static readonly TimeSpan DefaultReopenInterval = TimeSpan.FromSeconds(30);

    private readonly SpoolFiles _files;
    private readonly SpoolBudget _budget;
    private readonly SpoolFullPolicy _onFull;
    private readonly Serilog.ILogger _logger;
    private readonly SpoolMetrics _metrics;
    private readonly long _reopenIntervalMs;
    private readonly Action<Signal, long>? _droppedOldest;

    /// <summary>Guards the database, the leases and the counters' writers.</summary>
    private readonly Lock _lock = new();

    private readonly Lock _pendingLock = new();
    private List<AppendRequest> _pending = [];
    private List<AppendRequest> _spare = [];

    /// <summary>Leased id -> item count. In memory only: after a restart every batch is replayable again.</summary>
    private readonly Dictionary<long, int> _leased = [];

    /// <summary>Leases of a database that was replaced after corruption: their rows are gone.</summary>
    private readonly Dictionary<long, int> _orphanedLeases = [];

    /// <summary>Members of the open append transaction, settled on commit or rollback.</summary>
    private readonly List<AppendRequest> _txnMembers = [];

    private SpoolDatabase? _database;
    private TxnDelta _txn;
    private long _txnFrames;
    private long _usedPages;
    private long _nextOpenAttemptMs;
    private long _count;
    private long _items;
    private long _payloadBytes;
    private long _lastId;
    private string? _lastError;
    private bool _disposed;

    private DiskSpool(SpoolFiles files, SpoolBudget budget, SpoolFullPolicy onFull, Serilog.ILogger logger, SpoolMetrics metrics, TimeSpan reopenInterval, Action<Signal, long>? droppedOldest)
    {
        _droppedOldest = droppedOldest;
        _files = files;
        _budget = budget;
        _onFull = onFull;
        _logger = logger;
        _metrics = metrics;
        _reopenIntervalMs = (long)reopenInterval.TotalMilliseconds;
    }

    public string DatabasePath => _files.DatabasePath;

    /// <summary>False while the file cannot be opened (permission, disk full, locked by another process).</summary>
    public bool IsAvailable => Volatile.Read(ref _database) is not null;

    /// <summary>Why the spool is unavailable or the last operation failed; null when none failed yet.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Batches in the spool, leased ones included.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Items (spans, metric points, log records) in the spool.</summary>
    public long Items => Volatile.Read(ref _items);

    /// <summary>Sum of the payload lengths in the spool.</summary>
    public long PayloadBytes => Volatile.Read(ref _payloadBytes);

    /// <summary>Batches currently leased (handed out, neither deleted nor released).</summary>
    public int LeasedCount
    {
        get
        {
            lock (_lock)
            {
                return _leased.Count;
            }
        }
    }

    /// <summary>Database + WAL (+ shm) file sizes right now; never above <see cref="CapBytes"/>.</summary>
    public long BytesOnDisk => _files.BytesOnDisk();

    public long CapBytes => _budget.CapBytes;

    /// <summary>Largest payload one append accepts; bigger ones get <see cref="SpoolAppendStatus.TooLarge"/>.</summary>
    public long MaxPayloadBytes => _budget.MaxPayloadBytes;

    /// <summary>
    /// Opens (or creates) <c>&lt;directory&gt;/&lt;name&gt;.spool.db</c>. A corrupt or unreadable file
    /// is moved aside as <c>.corrupt-&lt;yyyyMMddHHmmss&gt;</c> (Error log) and replaced by an empty one.
    /// Never throws for I/O: when even a new file cannot be created the spool is returned unavailable.
    /// Throws only for invalid arguments (<paramref name="maxBytes"/> below 1 MiB, empty name).
    /// <paramref name="droppedOldest"/> is told, per signal, the items drop_oldest deleted (after the
    /// commit, under the spool's lock: keep it short), so that one file shared by several signals
    /// still counts each signal's losses exactly.
    /// </summary>
    public static DiskSpool Open(
        string directory,
        string name,
        long maxBytes,
        SpoolFullPolicy onFull,
        Serilog.ILogger logger,
        SelfMetrics metrics,
        string exporterLabel,
        TimeSpan? reopenInterval = null,
        Action<Signal, long>? droppedOldest = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(exporterLabel);
        var files = new SpoolFiles(directory, name);
        var spoolLogger = logger.ForContext("Spool", files.DatabasePath).ForContext("Exporter", exporterLabel);
        var spool = new DiskSpool(
            files,
            SpoolBudget.For(maxBytes),
            onFull,
            spoolLogger,
            new SpoolMetrics(metrics, exporterLabel, spoolLogger),
            reopenInterval ?? DefaultReopenInterval,
            droppedOldest);
        lock (spool._lock)
        {
            spool.TryOpenDatabase();
        }

        spool._metrics.Attach(spool);
        return spool;
    }

    /// <summary>
    /// Appends one batch; when the result is stored, the batch is committed (durable against a process
    /// kill). Concurrent callers share one transaction. Never throws for I/O errors.
    /// The payload is only read during the call. With <paramref name="lease"/> the stored batch is
    /// leased to the caller from the moment it exists (the caller still holds it in memory), so
    /// neither <see cref="TryLeaseOldest"/> nor drop_oldest can take it until it is released.
    /// </summary>
    public SpoolAppendResult TryAppend(Signal signal, ReadOnlyMemory<byte> payload, int itemCount, bool lease = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        var request = new AppendRequest(signal, payload, itemCount, lease);
        lock (_pendingLock)
        {
            _pending.Add(request);
        }

        lock (_lock)
        {
            // Whoever holds the lock commits every waiting append; a follower finds its result ready.
            if (!request.Done)
            {
                RunPendingAppends();
            }
        }

        return request.Result;
    }

    /// <summary>
    /// Hands out the oldest batch that is not leased (of <paramref name="signal"/> when given). It is not
    /// handed out again until <see cref="Release"/>; <see cref="Delete"/> removes it for good.
    /// False when there is none, or on error (counted, logged).
    /// </summary>
    public bool TryLeaseOldest(Signal? signal, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpoolEntry? entry)
    {
        entry = null;
        lock (_lock)
        {
            if (!EnsureDatabase(out var database))
            {
                return false;
            }

            try
            {
                var id = database.FindOldest(0, signal, _leased);
                if (id < 0)
                {
                    return false;
                }

                entry = database.Read(id);
                if (entry is null)
                {
                    return false;
                }

                _leased[id] = entry.ItemCount;
                return true;
            }
            catch (Exception e) when (IsStorageError(e))
            {
                OnStorageError("lease", e);
                entry = null;
                return false;
            }
        }
    }

    /// <summary>Delivery failed: the batch becomes leasable again (oldest first, so it is retried next).</summary>
    public void Release(long id)
    {
        lock (_lock)
        {
            if (_orphanedLeases.Remove(id, out var items))
            {
                // Its database was replaced after corruption: nothing to return it to.
                _metrics.DroppedCorrupt.Add(items);
                return;
            }

            _leased.Remove(id);
        }
    }

    /// <summary>
    /// The backend acknowledged the batch: delete it. Returns false when it was not in the spool or on
    /// error; the lease ends either way (on error the batch is replayed later: at-least-once).
    /// </summary>
    public bool Delete(long id)
    {
        lock (_lock)
        {
            _leased.Remove(id);
            if (_orphanedLeases.Remove(id) || !EnsureDatabase(out var database))
            {
                return false;
            }

            try
            {
                var row = database.Delete(id);
                if (row is null)
                {
                    return false;
                }

                _lastError = null;
                AdjustTotals(-1, -row.Value.Items, -row.Value.PayloadBytes);
                _metrics.Deleted.Increment();
            }
            catch (Exception e) when (IsStorageError(e))
            {
                OnStorageError("delete", e);
                return false;
            }

            try
            {
                ReturnFreePages(database);
            }
            catch (Exception e) when (IsStorageError(e))
            {
                OnStorageError("maintenance", e);
            }

            return true;
        }
    }

    /// <summary>Checkpoints the WAL into the database (truncating it) and closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _lastError = "spool is closed";
            if (_database is not null)
            {
                try
                {
                    _database.Checkpoint();
                }
                catch (Exception e) when (IsStorageError(e))
                {
                    // Closing checkpoints again; the WAL is replayed at the next open anyway.
                    _logger.Warning(e, "Spool checkpoint at close failed");
                }

                _database.Dispose();
                Volatile.Write(ref _database, null);
            }
        }

        _metrics.Detach(this);
    }

    private void RunPendingAppends()
    {
        List<AppendRequest> group;
        lock (_pendingLock)
        {
            group = _pending;
            _pending = _spare;
        }

        try
        {
            AppendGroup(group);
        }
        finally
        {
            group.Clear();
            _spare = group;
        }
    }

    private void AppendGroup(List<AppendRequest> group)
    {
        if (!EnsureDatabase(out var database))
        {
            foreach (var request in group)
            {
                request.Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: _lastError));
            }

            return;
        }

        var createdAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var next = 0;
        while (next < group.Count)
        {
            var current = -1;
            try
            {
                CheckpointIfDue(database);
                BeginAppendTransaction(database);
                for (; next < group.Count; next++)
                {
                    current = next;
                    var request = group[next];
                    var pages = SpoolBudget.PagesToInsert(request.Payload.Length);
                    if (pages > _budget.MaxRowPages)
                    {
                        _metrics.RejectedTooLarge.Add(request.ItemCount);
                        request.Complete(new SpoolAppendResult(SpoolAppendStatus.TooLarge,
                            Error: $"payload of {request.Payload.Length} bytes exceeds the spool's limit of {_budget.MaxPayloadBytes} bytes"));
                        continue;
                    }

                    // Keep every transaction within the WAL reserve; the rest goes into the next one.
                    if (_txnMembers.Count > 0 && _txnFrames + pages > _budget.TxnFrameLimit)
                    {
                        break;
                    }

                    _txnMembers.Add(request);
                    if (_usedPages + pages > _budget.MaxPageCount && !MakeRoom(database, request, pages))
                    {
                        request.Pending = new SpoolAppendResult(SpoolAppendStatus.Full, DroppedItems: request.DroppedItems,
                            DroppedBatches: request.DroppedBatches, Error: "spool is full");
                        continue;
                    }

                    var id = database.Insert(request.Signal, request.Payload, request.ItemCount, createdAt);
                    _lastId = id;
                    if (request.Lease)
                    {
                        // Leased before later members of this transaction look for drop_oldest victims.
                        _leased[id] = request.ItemCount;
                    }

                    _usedPages += pages;
                    _txnFrames += pages;
                    _txn.Add(1, request.ItemCount, request.Payload.Length);
                    request.Pending = request.DroppedBatches > 0
                        ? new SpoolAppendResult(SpoolAppendStatus.DroppedOldest, id, request.DroppedItems, request.DroppedBatches)
                        : new SpoolAppendResult(SpoolAppendStatus.Appended, id);
                }

                current = -1;
                CommitAppendTransaction(database);
            }
            catch (Exception e) when (IsStorageError(e))
            {
                database.TryRollback();
                var failed = FailAppendTransaction(e.Message);

                // Always make progress: fail the request being processed, or the next one when the
                // transaction itself could not start.
                var culprit = current >= 0 ? current : failed == 0 ? next : -1;
                if (culprit >= 0 && culprit < group.Count)
                {
                    if (!group[culprit].Done)
                    {
                        group[culprit].Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: e.Message));
                    }

                    next = culprit + 1;
                }

                OnStorageError("append", e);
                if (!EnsureDatabase(out var reopened))
                {
                    for (; next < group.Count; next++)
                    {
                        group[next].Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: _lastError));
                    }

                    return;
                }

                database = reopened;
            }
        }

        try
        {
            CheckpointIfDue(database);
        }
        catch (Exception e) when (IsStorageError(e))
        {
            OnStorageError("maintenance", e);
        }
    }

    /// <summary>
    /// Frees room for <paramref name="pages"/> by the policy: false under reject, or when nothing
    /// but leased batches is left to drop. Drops are committed in bounded transactions.
    /// </summary>
    private bool MakeRoom(SpoolDatabase database, AppendRequest request, int pages)
    {
        if (_onFull == SpoolFullPolicy.Reject)
        {
            _metrics.RejectedFull.Add(request.ItemCount);
            _metrics.Warn("full", "Spool is full ({Batches} batches, {Bytes} bytes on disk); rejecting new batches", _count, BytesOnDisk);
            return false;
        }

        var deleteFrames = SpoolBudget.FramesToDelete(_budget.MaxRowPages);
        long after = 0;
        while (_usedPages + pages > _budget.MaxPageCount)
        {
            if (_txnFrames + deleteFrames + pages > _budget.TxnFrameLimit)
            {
                // Commit what is done so far (earlier appends and these drops) to bound the WAL.
                _txnMembers.Remove(request);
                CommitAppendTransaction(database);
                CheckpointIfDue(database);
                BeginAppendTransaction(database);
                _txnMembers.Add(request);
            }

            var victim = database.FindOldest(after, null, _leased);
            if (victim < 0)
            {
                _metrics.RejectedFull.Add(request.ItemCount);
                _metrics.Warn("full_leased", "Spool is full and every batch in it is being delivered; rejecting new batches");
                return false;
            }

            var row = database.Delete(victim);
            after = victim;
            if (row is null)
            {
                continue;
            }

            request.DroppedItems += row.Value.Items;
            request.DroppedBatches++;
            _txn.Add(-1, -row.Value.Items, -row.Value.PayloadBytes);
            _txn.DroppedItems += row.Value.Items;
            _txn.DropBySignal(row.Value.Signal, row.Value.Items);
            _txnFrames += SpoolBudget.FramesToDelete(SpoolBudget.RowPages(row.Value.PayloadBytes));
            _usedPages = database.PageCounts().UsedPages;
        }

        _metrics.Warn("drop_oldest", "Spool is full; dropping the oldest batches to make room (counted in collector_spool_dropped_items_total)");
        return true;
    }

    private void BeginAppendTransaction(SpoolDatabase database)
    {
        database.Begin();
        _txn = default;
        _txnFrames = 0;
        _usedPages = database.PageCounts().UsedPages;
    }

    private void CommitAppendTransaction(SpoolDatabase database)
    {
        database.Commit();
        _lastError = null;
        AdjustTotals(_txn.Batches, _txn.Items, _txn.Bytes);
        _metrics.DroppedOldest.Add(_txn.DroppedItems);
        if (_txn.DroppedItems > 0 && _droppedOldest is { } report)
        {
            ReportDropped(report, Signal.Traces, _txn.DroppedTraces);
            ReportDropped(report, Signal.Metrics, _txn.DroppedMetrics);
            ReportDropped(report, Signal.Logs, _txn.DroppedLogs);
        }

        foreach (var member in _txnMembers)
        {
            if (member.Pending.IsStored)
            {
                _metrics.Appended.Increment();
            }

            member.Complete(member.Pending);
        }

        _txnMembers.Clear();
        _txn = default;
    }

    private static void ReportDropped(Action<Signal, long> report, Signal signal, long items)
    {
        if (items > 0)
        {
            report(signal, items);
        }
    }

    private int FailAppendTransaction(string error)
    {
        var failed = _txnMembers.Count;
        foreach (var member in _txnMembers)
        {
            if (member.Lease && member.Pending.IsStored)
            {
                // Rolled back: the row is gone, and so is its lease.
                _leased.Remove(member.Pending.Id);
            }

            member.Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: error));
        }

        _txnMembers.Clear();
        _txn = default;
        return failed;
    }

    /// <summary>Checkpoints and truncates the WAL once it holds its share of the cap.</summary>
    private void CheckpointIfDue(SpoolDatabase database)
    {
        if (SpoolFiles.SizeOf(_files.WalPath) >= _budget.WalCheckpointBytes && !database.Checkpoint())
        {
            // Cannot happen with the exclusive lock; refusing keeps the WAL bound if it ever does.
            throw new IOException("WAL checkpoint was blocked; refusing to grow the WAL past its share of the cap");
        }
    }

    /// <summary>
    /// Returns free pages to the file system: all of them once the spool is empty (cheap: nothing to
    /// move), else one small chunk per delete while free pages exceed a quarter of the file. An empty
    /// spool also truncates a WAL of noticeable size, so a drained spool is small on disk.
    /// </summary>
    private void ReturnFreePages(SpoolDatabase database)
    {
        var (_, pageCount, free) = database.PageCounts();
        var vacuum = free >= _budget.VacuumThresholdPages && (_count == 0 || free * 4 >= pageCount);
        if (vacuum)
        {
            do
            {
                database.VacuumChunk();
                CheckpointIfDue(database);
                free = database.PageCounts().FreePages;
            }
            while (_count == 0 && free > 0);
        }

        // The database file shrinks only when the vacuum is checkpointed.
        if (_count == 0 && (vacuum || SpoolFiles.SizeOf(_files.WalPath) >= _budget.VacuumThresholdPages * SpoolBudget.PageSize))
        {
            database.Checkpoint();
        }
        else
        {
            CheckpointIfDue(database);
        }
    }

    private bool EnsureDatabase([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpoolDatabase? database)
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
        SpoolDatabase? database = null;
        try
        {
            Directory.CreateDirectory(_files.Directory);
            try
            {
                database = SpoolDatabase.Open(_files.DatabasePath, _budget);
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
                database = SpoolDatabase.Open(_files.DatabasePath, _budget);
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

    private void LoadState(SpoolDatabase database)
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
    private void ShrinkToCap(SpoolDatabase database)
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

    private void AdjustTotals(long batches, long items, long bytes)
    {
        Volatile.Write(ref _count, _count + batches);
        Volatile.Write(ref _items, _items + items);
        Volatile.Write(ref _payloadBytes, _payloadBytes + bytes);
    }

    private static bool IsStorageError(Exception e) =>
        e is SqliteException or IOException or UnauthorizedAccessException or SpoolFormatException or InvalidOperationException;

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

    private static string ErrorKey(Exception e) => e is SqliteException sqlite
        ? "sqlite_" + sqlite.SqliteExtendedErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : e.GetType().Name;

    /// <summary>Net change of the open append transaction, applied to the totals on commit.</summary>
    private struct TxnDelta
    {
        public long Batches;
        public long Items;
        public long Bytes;
        public long DroppedItems;
        public long DroppedTraces;
        public long DroppedMetrics;
        public long DroppedLogs;

        public void Add(long batches, long items, long bytes)
        {
            Batches += batches;
            Items += items;
            Bytes += bytes;
        }

        public void DropBySignal(Signal signal, long items)
        {
            switch (signal)
            {
                case Signal.Traces: DroppedTraces += items; break;
                case Signal.Metrics: DroppedMetrics += items; break;
                default: DroppedLogs += items; break;
            }
        }
    }

    private sealed class AppendRequest(Signal signal, ReadOnlyMemory<byte> payload, int itemCount, bool lease)
    {
        public bool Lease { get; } = lease;

        public Signal Signal { get; } = signal;

        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public int ItemCount { get; } = itemCount;

        public long DroppedItems { get; set; }

        public int DroppedBatches { get; set; }

        /// <summary>Result once the transaction holding this request commits.</summary>
        public SpoolAppendResult Pending { get; set; }

        public SpoolAppendResult Result { get; private set; }

        public bool Done { get; private set; }

        public void Complete(SpoolAppendResult result)
        {
            Result = result;
            Done = true;
        }
    }
}
