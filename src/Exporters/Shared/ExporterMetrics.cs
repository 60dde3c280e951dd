using Collector.Pipeline.Telemetry;

namespace Collector.Exporters.Shared;

/// <summary>What every exporter running behind the exporter helper (and, with a spool, the spool) registers.</summary>
internal static class ExporterMetrics
{
    /// <summary>Also what the debug exporter, which has no helper, registers.</summary>
    public static MetricInfo Sent { get; } = new("collector_exporter_sent_{item}_total", MetricType.Counter, "{items}", "{item} delivered to the backend", "exporter");

    public static IEnumerable<MetricInfo> Helper { get; } =
    [
        Sent,
        new("collector_exporter_retries_total", MetricType.Counter, "{attempts}", "send attempts retried after a retryable failure", "exporter"),
        new("collector_exporter_spooled_{item}_total", MetricType.Counter, "{items}", "{item} committed to the spool", "exporter"),
        new("collector_exporter_replayed_{item}_total", MetricType.Counter, "{items}", "{item} delivered after being read back from the spool", "exporter"),
        new("collector_exporter_spool_bypassed_{item}_total", MetricType.Counter, "{items}", "write_ahead {item} acknowledged without a spool commit, kept in memory only (a failed commit under on_unavailable: degrade, or one item too large for a spool row)", "exporter"),
        new("collector_exporter_send_failed_{item}_total", MetricType.Counter, "{items}", "{item} not delivered, by reason", "exporter", "reason"),
        new("collector_exporter_refused_{item}_total", MetricType.Counter, "{items}", "write_ahead {item} refused before a commit (the client is told to retry), by reason", "exporter", "reason"),
        new("collector_exporter_queue_overfilled_{item}_total", MetricType.Counter, "{items}", "{item} queued above sending_queue.queue_size under on_full: reject (admitted before the queue filled)", "exporter"),
        new("collector_exporter_admission_refused_requests_total", MetricType.Counter, "{requests}", "requests the pipeline door refused because this exporter's sending queue was full (on_full: reject), by reason", "exporter", "data_type", "reason"),
        new("collector_exporter_queue_size", MetricType.Gauge, "{batches}", "batches waiting in the sending queue", "exporter", "data_type"),
        new("collector_exporter_queue_bytes", MetricType.Gauge, "By", "bytes of the batches waiting in the sending queue", "exporter", "data_type"),
        new("collector_exporter_queue_capacity", MetricType.Gauge, "{sizer unit}", "sending_queue.queue_size, in the unit of sending_queue.sizer (batches, items or bytes)", "exporter", "data_type"),
        new("collector_spool_appended_batches_total", MetricType.Counter, "{batches}", "Batches committed to the spool.", "exporter"),
        new("collector_spool_deleted_batches_total", MetricType.Counter, "{batches}", "Spooled batches deleted after the backend acknowledged them.", "exporter"),
        new("collector_spool_bytes", MetricType.Gauge, "By", "Bytes of the spool files on disk (database + WAL).", "exporter"),
        new("collector_spool_items", MetricType.Gauge, "{items}", "Items (spans, metric points, log records) held in the spool.", "exporter"),
        new("collector_spool_batches", MetricType.Gauge, "{batches}", "Batches held in the spool.", "exporter"),
        new("collector_spool_errors_total", MetricType.Counter, "{errors}", "Spool errors by operation.", "exporter", "op"),
        new("collector_spool_dropped_items_total", MetricType.Counter, "{items}", "Items the spool deleted without delivery, by reason.", "exporter", "reason"),
        new("collector_spool_rejected_items_total", MetricType.Counter, "{items}", "Items the spool refused to take (the caller keeps or drops them), by reason.", "exporter", "reason"),
        new("collector_spool_recreated_total", MetricType.Counter, "{files}", "Spool files recreated because the open file was deleted from its directory.", "exporter"),
        new("collector_spool_corrupt_batches_total", MetricType.Counter, "{batches}", "Batches lost to a damaged spool file, also those whose item count was unreadable.", "exporter"),
    ];
}
