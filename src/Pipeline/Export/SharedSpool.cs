using Collector.Pipeline.Spool;

namespace Collector.Pipeline.Export;

/// <summary>
/// The one spool database of an exporter id, shared by that exporter's per-signal helpers (rows
/// carry their signal). Opened by the first helper that starts, closed by the last that stops.
/// </summary>
internal sealed class SharedSpool
{
    private readonly Lock _lock = new();
    private readonly Func<DiskSpool> _open;
    private DiskSpool? _spool;
    private int _users;

    private SharedSpool(Func<DiskSpool> open) => _open = open;

    public static SharedSpool For(ComponentContext context, SpoolConfig config)
    {
        var exporter = context.Id.ToString();
        return context.Shared.GetOrAdd(new ComponentId("spool", exporter), () => new SharedSpool(() => DiskSpool.Open(
            config.Directory,
            exporter,
            (long)config.MaxSizeMib << 20,
            config.OnFull == SpoolOnFull.DropOldest ? SpoolFullPolicy.DropOldest : SpoolFullPolicy.Reject,
            context.Logger,
            context.Metrics,
            exporter)));
    }

    public DiskSpool Acquire()
    {
        lock (_lock)
        {
            _users++;
            return _spool ??= _open();
        }
    }

    /// <summary>The last user closes the file (checkpointing the WAL away); leases end with it.</summary>
    public void Release()
    {
        lock (_lock)
        {
            if (--_users > 0 || _spool is null)
            {
                return;
            }

            _spool.Dispose();
            _spool = null;
        }
    }
}
