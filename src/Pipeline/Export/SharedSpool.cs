using Collector.Pipeline.Spool;

namespace Collector.Pipeline.Export;

/// <summary>
/// The one spool database of an exporter id, shared by that exporter's per-signal helpers (rows
/// carry their signal). Opened by the first helper that starts, closed by the last that stops.
/// </summary>
internal sealed class SharedSpool
{
    private readonly Lock _lock = new();
    private readonly Func<SharedSpool, DiskSpool> _open;

    /// <summary>Bytes of write_ahead batches that may be kept in memory (leased) at once: a quarter of the cap.</summary>
    private readonly long _holdBudget;
    private long _held;

    /// <summary>Per signal: who counts the items drop_oldest deleted (any signal's append may drop another's rows).</summary>
    private readonly Action<long>?[] _droppedOldest = new Action<long>?[3];
    private DiskSpool? _spool;
    private int _users;

    private SharedSpool(Func<SharedSpool, DiskSpool> open, long capBytes)
    {
        _open = open;
        _holdBudget = capBytes / 4;
    }

    /// <summary>The spool of <paramref name="context"/>'s exporter id; <paramref name="openStore"/> (tests) replaces the SQLite store of the first caller.</summary>
    public static SharedSpool For(ComponentContext context, SpoolConfig config, Func<string, SpoolBudget, ISpoolStore>? openStore = null)
    {
        var exporter = context.Id.ToString();
        return context.Shared.GetOrAdd(new ComponentId("spool", exporter), () => new SharedSpool(shared => DiskSpool.Open(
            config.Directory,
            exporter,
            config.MaxBytes,
            config.FullPolicy,
            context.Logger,
            context.Metrics,
            exporter,
            droppedOldest: shared.OnDroppedOldest,
            openStore: openStore,
            failFastConfigKey: config.OnUnavailable == SpoolOnUnavailable.Fail ? $"exporters.{exporter}.sending_queue.spool.directory" : null), config.MaxBytes));
    }

    /// <summary>
    /// Opens the spool if needed; <paramref name="droppedOldest"/> counts this signal's items that drop_oldest deletes.
    /// With <c>on_unavailable: fail</c> a spool that cannot be opened throws <see cref="SpoolUnavailableException"/>
    /// (the exporter's start fails; <see cref="Release"/> still balances this call).
    /// </summary>
    public DiskSpool Acquire(Signal signal, Action<long> droppedOldest)
    {
        lock (_lock)
        {
            _users++;
            Volatile.Write(ref _droppedOldest[(int)signal], droppedOldest);
            return _spool ??= _open(this);
        }
    }

    /// <summary>The last user closes the file (checkpointing the WAL away); leases end with it.</summary>
    public void Release()
    {
        lock (_lock)
        {
            // Drop counters stay registered: a signal whose helper stopped first still gets its losses counted.
            if (--_users > 0 || _spool is null)
            {
                return;
            }

            _spool.Dispose();
            _spool = null;
        }
    }

    /// <summary>
    /// Reserves room to keep a spooled (leased) batch in memory as well. Leased rows cannot be dropped,
    /// so without this bound a long in-memory queue could hold the whole spool and turn drop_oldest into
    /// reject; past it, batches wait on disk only and are replayed from there.
    /// </summary>
    public bool TryHold(long bytes)
    {
        if (Interlocked.Add(ref _held, bytes) <= _holdBudget)
        {
            return true;
        }

        Interlocked.Add(ref _held, -bytes);
        return false;
    }

    public void Unhold(long bytes) => Interlocked.Add(ref _held, -bytes);

    private void OnDroppedOldest(Signal signal, long items) => Volatile.Read(ref _droppedOldest[(int)signal])?.Invoke(items);
}
