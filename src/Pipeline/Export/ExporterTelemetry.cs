using Collector.Pipeline.Telemetry;

namespace Collector.Pipeline.Export;

/// <summary>
/// The counters and warnings of one exporter helper (label <c>exporter</c>): every batch that leaves
/// without being delivered is counted under one reason of <c>collector_exporter_send_failed_&lt;items&gt;_total</c>;
/// warnings about the same cause are logged once (counted always).
/// </summary>
internal sealed class ExporterTelemetry
{
    /// <summary>Bound on the distinct failure causes remembered for log-once; all are forgotten when it is reached.</summary>
    private const int MaxLoggedCauses = 64;

    private readonly LogLimiter _loggedCauses = new(Timeout.InfiniteTimeSpan, MaxLoggedCauses);

    public ExporterTelemetry(ComponentContext context, Signal signal)
    {
        Exporter = context.Id.ToString();
        Logger = context.Logger;
        Items = signal.ItemName();

        var metrics = context.Metrics;
        var exporterLabel = ("exporter", Exporter);
        Sent = metrics.Counter($"collector_exporter_sent_{Items}_total", $"{Items} delivered to the backend", exporterLabel);
        Retries = metrics.Counter("collector_exporter_retries_total", "send attempts retried after a retryable failure", exporterLabel);
        Spooled = metrics.Counter($"collector_exporter_spooled_{Items}_total", $"{Items} committed to the spool", exporterLabel);
        Replayed = metrics.Counter($"collector_exporter_replayed_{Items}_total", $"{Items} delivered after being read back from the spool", exporterLabel);
        Bypassed = metrics.Counter(
            $"collector_exporter_spool_bypassed_{Items}_total",
            $"write_ahead {Items} acknowledged without a spool commit, kept in memory only (a failed commit under on_unavailable: degrade, or one item too large for a spool row)",
            exporterLabel);
        var failedName = $"collector_exporter_send_failed_{Items}_total";
        var failedHelp = $"{Items} not delivered, by reason";
        Counter Failed(string reason) => metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", reason));
        DroppedQueueFull = Failed("queue_full");
        DroppedPermanent = Failed("permanent");
        DroppedRetriesExhausted = Failed("retries_exhausted");
        DroppedPoison = Failed("poison");
        DroppedShutdown = Failed("shutdown");
        RejectedPartial = Failed("partial_rejected");
        DroppedOldest = Failed("drop_oldest");
        DroppedSpoolFull = Failed("spool_full");
        DroppedSpoolError = Failed("spool_error");
        DroppedUnreadable = Failed("spool_unreadable");
        var refusedName = $"collector_exporter_refused_{Items}_total";
        var refusedHelp = $"write_ahead {Items} refused before a commit (the client is told to retry), by reason";
        RefusedSpoolFull = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "spool_full"));
        RefusedNoRoom = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "queue_full"));
        RefusedShutdown = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "shutdown"));
        RefusedSpoolError = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "spool_error"));

        Overfilled = metrics.Counter(
            $"collector_exporter_queue_overfilled_{Items}_total",
            $"{Items} queued above sending_queue.queue_size under on_full: reject (admitted before the queue filled)",
            exporterLabel);

        // Requests, not items: the door refuses before anything is decoded. data_type as the queue gauges,
        // since one exporter id may refuse for pipelines of several signals.
        var dataType = ("data_type", signal.ToConfigName());
        const string admissionName = "collector_exporter_admission_refused_requests_total";
        const string admissionHelp = "requests the pipeline door refused because this exporter's sending queue was full (on_full: reject), by reason";
        AdmissionRefusal Refusal(string reason, string what) =>
            new(metrics.Counter(admissionName, admissionHelp, exporterLabel, dataType, ("reason", reason)), reason, $"exporter {Exporter}: {what}");
        QueueFull = Refusal("queue_full", "sending queue full");
        QueueAndSpoolFull = Refusal("spool_full", "sending queue and spool full");
        QueueFullSpoolUnavailable = Refusal("spool_unavailable", "sending queue full and spool unavailable");
    }

    public string Exporter { get; }

    /// <summary>What the signal's items are called in metric names and logs (spans, metric points, log records).</summary>
    public string Items { get; }

    public Serilog.ILogger Logger { get; }

    public Counter Sent { get; }

    public Counter Retries { get; }

    public Counter Spooled { get; }

    public Counter Replayed { get; }

    public Counter Bypassed { get; }

    public Counter DroppedQueueFull { get; }

    public Counter DroppedPermanent { get; }

    public Counter DroppedRetriesExhausted { get; }

    public Counter DroppedPoison { get; }

    public Counter DroppedShutdown { get; }

    public Counter RejectedPartial { get; }

    public Counter DroppedOldest { get; }

    public Counter DroppedSpoolFull { get; }

    public Counter DroppedSpoolError { get; }

    public Counter DroppedUnreadable { get; }

    public Counter RefusedSpoolFull { get; }

    public Counter RefusedNoRoom { get; }

    public Counter RefusedShutdown { get; }

    /// <summary>write_ahead commit failed (disk full, I/O error, spool unavailable): refused rather than acknowledged from memory.</summary>
    public Counter RefusedSpoolError { get; }

    public Counter Overfilled { get; }

    /// <summary>Door refusals (on_full: reject): the queue is full and there is no spool.</summary>
    public AdmissionRefusal QueueFull { get; }

    /// <summary>Door refusals: the queue is full and the spool refused the last batch offered to it.</summary>
    public AdmissionRefusal QueueAndSpoolFull { get; }

    /// <summary>Door refusals: the queue is full and the spool cannot be used.</summary>
    public AdmissionRefusal QueueFullSpoolUnavailable { get; }

    /// <summary>The exporter refuses a request at the pipeline door: counted, warned once per reason; returns what the client is told.</summary>
    public string RefuseAdmission(AdmissionRefusal refusal)
    {
        refusal.Counter.Increment();
        if (FirstTime("admission", refusal.Label))
        {
            Logger.Warning(
                "Exporter {Exporter} refuses new {Items} at the pipeline door ({Reason}); clients are told to retry (sending_queue.on_full: reject; logged once per reason, counted always)",
                Exporter, Items, refusal.Label);
        }

        return refusal.Reason;
    }

    /// <summary>
    /// A send that ended without a spool to keep the batch in: retries exhausted is counted as such
    /// (logged once per cause), stopped by shutdown as shutdown. Other outcomes are counted already.
    /// Then settles the batch's delivery acks: failed when shutdown stopped it (a durable door keeps
    /// the request for replay), complete otherwise (sent, or dropped by rule).
    /// </summary>
    public void SettleUnspooled<T>(Batch<T> batch, Delivery delivery)
        where T : class, Google.Protobuf.IMessage<T>
    {
        CountUnspooled(batch.ItemCount, delivery);
        if (delivery.Outcome == SendOutcome.Stopped)
        {
            batch.FailDelivery("exporter is shutting down");
        }
        else
        {
            batch.SettleDelivered();
        }
    }

    private void CountUnspooled(int items, Delivery delivery)
    {
        switch (delivery.Outcome)
        {
            case SendOutcome.RetriesExhausted:
                if (FirstTime("retries_exhausted", delivery.Result.Error))
                {
                    Logger.Warning(
                        "Exporter {Exporter} dropped {Count} {Items} after retries: {Error} (logged once per cause, counted always)",
                        Exporter, items, Items, delivery.Result.Error);
                }

                // Counted after the line is written, so that whoever sees the count finds the line.
                DroppedRetriesExhausted.Add(items);
                break;

            case SendOutcome.Stopped:
                DroppedShutdown.Add(items);
                break;
        }
    }

    /// <summary>Logs a warning the first time a cause is seen; the template takes {Exporter}, then {Error} if present, then {Items}.</summary>
    public void WarnOnce(string kind, string? cause, string template)
    {
        if (!FirstTime(kind, cause))
        {
            return;
        }

        if (template.Contains("{Error}", StringComparison.Ordinal))
        {
            Logger.Warning(template, Exporter, cause, Items);
        }
        else
        {
            Logger.Warning(template, Exporter, Items);
        }
    }

    /// <summary>True the first time a cause is seen, so that an outage logs once rather than once per batch.</summary>
    public bool FirstTime(string kind, string? cause) => _loggedCauses.TryLog(cause is null ? kind : $"{kind}: {cause}", out _);
}

/// <summary>One reason an exporter refuses at the pipeline door: its counter, its label value and the text the client gets.</summary>
internal sealed record AdmissionRefusal(Counter Counter, string Label, string Reason);
