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
/// <para>
/// This file holds the surface (append, lease, release, delete, close). Group commit and making room
/// under the cap are in <c>DiskSpool.Appends.cs</c>; opening, recovery and moving a corrupt file
/// aside in <c>DiskSpool.Recovery.cs</c>; the SQL itself behind <see cref="ISpoolStore"/>.
/// </para>
/// </summary>
internal sealed partial class DiskSpool : IDisposable
{
    private static readonly TimeSpan DefaultReopenInterval = TimeSpan.FromSeconds(30);

    /// <summary>How often an operation checks that the database file is still in its directory (one stat call).</summary>
    private static readonly TimeSpan DefaultFileCheckInterval = TimeSpan.FromSeconds(1);

    private readonly SpoolFiles _files;
    private readonly SpoolBudget _budget;
    private readonly SpoolFullPolicy _onFull;
    private readonly Serilog.ILogger _logger;
    private readonly SpoolMetrics _metrics;
    private readonly long _reopenIntervalMs;
    private readonly long _fileCheckIntervalMs;
    private readonly Action<Signal, long>? _droppedOldest;
    private readonly Func<string, SpoolBudget, ISpoolStore> _openStore;

    /// <summary>Guards the database, the leases and the counters' writers.</summary>
    private readonly Lock _lock = new();

    /// <summary>Leased id -> item count. In memory only: after a restart every batch is replayable again.</summary>
    private readonly Dictionary<long, int> _leased = [];

    /// <summary>Leases of a database that was replaced after corruption: their rows are gone.</summary>
    private readonly Dictionary<long, int> _orphanedLeases = [];

    private ISpoolStore? _database;
    private long _count;
    private long _items;
    private long _payloadBytes;
    private long _lastId;
    private string? _lastError;
    private bool _disposed;

    private DiskSpool(SpoolFiles files, SpoolBudget budget, SpoolFullPolicy onFull, Serilog.ILogger logger, SpoolMetrics metrics, TimeSpan reopenInterval, TimeSpan fileCheckInterval, Action<Signal, long>? droppedOldest, Func<string, SpoolBudget, ISpoolStore> openStore)
    {
        _fileCheckIntervalMs = (long)fileCheckInterval.TotalMilliseconds;
        _droppedOldest = droppedOldest;
        _openStore = openStore;
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

    /// <summary>The highest row id assigned so far (rows appended later have higher ids).</summary>
    public long LastId
    {
        get
        {
            lock (_lock)
            {
                return _lastId;
            }
        }
    }

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
                return _leased.Count - _deferredDeletes.Count;
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
    /// still counts each signal's losses exactly. <paramref name="openStore"/> replaces the SQLite
    /// store (tests inject I/O faults with it).
    /// <para>
    /// With <paramref name="failFastConfigKey"/> (<c>on_unavailable: fail</c>) a spool that cannot be
    /// opened is not returned unavailable: Open throws <see cref="SpoolUnavailableException"/> with one
    /// line, "&lt;key&gt;: &lt;reason&gt;" (<see cref="SpoolLocation"/>), and logs nothing itself.
    /// <paramref name="fileCheckInterval"/> bounds how often operations check that the file is still
    /// in its directory (1 s by default); a deleted file is recreated with what it held.
    /// <paramref name="labelKey"/> names the metrics label that carries <paramref name="exporterLabel"/>
    /// (<c>pipeline</c> for a durable door's log).
    /// </para>
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
        Action<Signal, long>? droppedOldest = null,
        Func<string, SpoolBudget, ISpoolStore>? openStore = null,
        string? failFastConfigKey = null,
        TimeSpan? fileCheckInterval = null,
        string labelKey = "exporter")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(exporterLabel);
        var files = new SpoolFiles(directory, name);
        var spoolLogger = logger.ForContext("Spool", files.DatabasePath).ForContext(labelKey == "exporter" ? "Exporter" : "Pipeline", exporterLabel);
        var spool = new DiskSpool(
            files,
            SpoolBudget.For(maxBytes),
            onFull,
            spoolLogger,
            new SpoolMetrics(metrics, (labelKey, exporterLabel), spoolLogger),
            reopenInterval ?? DefaultReopenInterval,
            fileCheckInterval ?? DefaultFileCheckInterval,
            droppedOldest,
            openStore ?? SpoolDatabase.Open);
        string? unavailable = null;
        lock (spool._lock)
        {
            if (!spool.TryOpenDatabase(logFailure: failFastConfigKey is null) && failFastConfigKey is not null)
            {
                unavailable = $"{failFastConfigKey}: {spool.UnavailableReason()}";
            }
        }

        if (unavailable is not null)
        {
            spool.Dispose();
            throw new SpoolUnavailableException(unavailable);
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
    /// Hands out the oldest batch that is not leased (of <paramref name="signal"/> when given; with an id
    /// above <paramref name="afterId"/>). It is not handed out again until <see cref="Release"/>;
    /// <see cref="Delete"/> removes it for good. False when there is none, or on error (counted, logged).
    /// </summary>
    public bool TryLeaseOldest(Signal? signal, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpoolEntry? entry, long afterId = 0)
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
                var id = database.FindOldest(afterId, signal, _leased);
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
                // Its database was replaced after corruption and its row not salvaged: nothing to return it to.
                _metrics.DroppedCorrupt.Add(items);
                _metrics.CorruptBatches.Increment();
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
            _leased.Remove(id, out var leasedItems);
            if (_orphanedLeases.Remove(id) || !EnsureDatabase(out var database))
            {
                return false;
            }

            try
            {
                if (!DeleteRow(database, id))
                {
                    return false;
                }

                DeleteDeferred(database);
                if (TryReplaceDeliveredFile(database))
                {
                    return true;
                }
            }
            catch (Exception e) when (IsDiskFull(e))
            {
                DeferDelete(database, id, leasedItems, e);
                return true;
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

    private void AdjustTotals(long batches, long items, long bytes)
    {
        Volatile.Write(ref _count, _count + batches);
        Volatile.Write(ref _items, _items + items);
        Volatile.Write(ref _payloadBytes, _payloadBytes + bytes);
    }

    private static bool IsStorageError(Exception e) =>
        e is SqliteException or IOException or UnauthorizedAccessException or SpoolFormatException or InvalidOperationException;

    private static string ErrorKey(Exception e) => e is SqliteException sqlite
        ? "sqlite_" + sqlite.SqliteExtendedErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : e.GetType().Name;
}
