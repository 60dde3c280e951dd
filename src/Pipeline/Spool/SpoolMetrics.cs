using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Collector.Pipeline.Telemetry;

namespace Collector.Pipeline.Spool;

/// <summary>Self-metrics of one spool (label <c>exporter</c>, or <c>pipeline</c> for a durable door's log) plus rate-limited error logging.</summary>
internal sealed class SpoolMetrics
{
    public const string DropOldest = "drop_oldest";
    public const string Corrupt = "corrupt";
    public const string CapReduced = "cap_reduced";

    /// <summary>
    /// Gauges are registered once per (registry, exporter) and read whichever spool is current, so a
    /// spool reopened under the same label reports itself rather than its disposed predecessor.
    /// </summary>
    private static readonly ConditionalWeakTable<SelfMetrics, ConcurrentDictionary<string, GaugeSource>> GaugeSources = new();

    private readonly SelfMetrics _registry;
    private readonly (string Key, string Value) _exporter;
    private readonly GaugeSource _gauges;
    private readonly Serilog.ILogger _logger;
    private readonly LogLimiter _logLimiter = new(TimeSpan.FromMinutes(1));

    public SpoolMetrics(SelfMetrics registry, (string Key, string Value) owner, Serilog.ILogger logger)
    {
        _registry = registry;
        _exporter = owner;
        _logger = logger;
        Appended = registry.Counter("collector_spool_appended_batches_total", "Batches committed to the spool.", _exporter);
        Deleted = registry.Counter("collector_spool_deleted_batches_total", "Spooled batches deleted after the backend acknowledged them.", _exporter);
        DroppedOldest = Dropped(DropOldest);
        DroppedCorrupt = Dropped(Corrupt);
        DroppedCapReduced = Dropped(CapReduced);
        RejectedFull = Rejected("full");
        RejectedTooLarge = Rejected("too_large");
        Recreated = registry.Counter("collector_spool_recreated_total", "Spool files recreated because the open file was deleted from its directory.", _exporter);
        CorruptBatches = registry.Counter("collector_spool_corrupt_batches_total", "Batches lost to a damaged spool file, also those whose item count was unreadable.", _exporter);

        var sources = GaugeSources.GetOrCreateValue(registry);
        _gauges = sources.GetOrAdd(owner.Key + "=" + owner.Value, _ =>
        {
            var source = new GaugeSource();
            registry.Gauge("collector_spool_bytes", "Bytes of the spool files on disk (database + WAL).", () => source.Current?.BytesOnDisk ?? 0, owner);
            registry.Gauge("collector_spool_items", "Items (spans, metric points, log records) held in the spool.", () => source.Current?.Items ?? 0, owner);
            registry.Gauge("collector_spool_batches", "Batches held in the spool.", () => source.Current?.Count ?? 0, owner);
            return source;
        });
    }

    public Counter Appended { get; }

    public Counter Deleted { get; }

    public Counter DroppedOldest { get; }

    public Counter DroppedCorrupt { get; }

    public Counter DroppedCapReduced { get; }

    public Counter RejectedFull { get; }

    public Counter RejectedTooLarge { get; }

    public Counter Recreated { get; }

    public Counter CorruptBatches { get; }

    public void Attach(DiskSpool spool) => _gauges.Current = spool;

    public void Detach(DiskSpool spool) => Interlocked.CompareExchange(ref _gauges.Current, null, spool);

    /// <summary>Counts an error of <paramref name="op"/> and logs it at most once a minute per <paramref name="key"/>.</summary>
    public void Error(string op, string key, Exception? exception, string messageTemplate, params object?[] values)
    {
        _registry.Counter("collector_spool_errors_total", "Spool errors by operation.", _exporter, ("op", op)).Increment();
        if (_logLimiter.TryLog(op + "/" + key, out var suppressed))
        {
            _logger.ForContext("SuppressedSinceLast", suppressed).Error(exception, messageTemplate, values);
        }
    }

    /// <summary>Logs a warning at most once a minute per <paramref name="key"/> (spool full, dropping oldest).</summary>
    public void Warn(string key, string messageTemplate, params object?[] values)
    {
        if (_logLimiter.TryLog(key, out var suppressed))
        {
            _logger.ForContext("SuppressedSinceLast", suppressed).Warning(messageTemplate, values);
        }
    }

    private Counter Dropped(string reason) =>
        _registry.Counter("collector_spool_dropped_items_total", "Items the spool deleted without delivery, by reason.", _exporter, ("reason", reason));

    private Counter Rejected(string reason) =>
        _registry.Counter("collector_spool_rejected_items_total", "Items the spool refused to take (the caller keeps or drops them), by reason.", _exporter, ("reason", reason));

    private sealed class GaugeSource
    {
        public DiskSpool? Current;
    }
}
