namespace Collector.Pipeline.Export;

/// <summary>What became of one batch's send: <see cref="Delivered"/> is the items the backend kept.</summary>
internal readonly record struct Delivery(SendOutcome Outcome, ExportResult Result, long Delivered);

/// <summary>
/// Counts and logs the ends of a send that do not depend on where the batch waits: delivered (sent,
/// and partial_rejected when the backend kept only part), permanent and poison (dropped). Retries
/// exhausted and stopped are left to the queue, which keeps the batch in its spool or drops it.
/// </summary>
internal sealed class CountingSender<T>(RetrySender<T> next, ExporterTelemetry telemetry)
    where T : class, Google.Protobuf.IMessage<T>
{
    public async Task<Delivery> SendAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        var (outcome, result) = await next.SendAsync(batch, cancellationToken);
        switch (outcome)
        {
            case SendOutcome.Delivered:
                return new Delivery(outcome, result, CountDelivered(batch, result));

            // Drops are counted after their line is written, so that whoever sees the count finds the line.
            case SendOutcome.Permanent:
                if (telemetry.FirstTime("permanent", result.Error))
                {
                    telemetry.Logger.Error(
                        "Exporter {Exporter} dropped {Count} {Items}: permanent error {Error} (logged once per cause, counted always)",
                        telemetry.Exporter, batch.ItemCount, telemetry.Items, result.Error);
                }

                telemetry.DroppedPermanent.Add(batch.ItemCount);
                break;

            case SendOutcome.Poison:
                // Logged every time: each is data an operator may need to find.
                telemetry.Logger.Warning(
                    "Exporter {Exporter} dropped {Count} {Items} as a poison batch after retries: {Error}; {Detail}",
                    telemetry.Exporter, batch.ItemCount, telemetry.Items, result.Error, result.PoisonDetail);
                telemetry.DroppedPoison.Add(batch.ItemCount);
                break;
        }

        return new Delivery(outcome, result, 0);
    }

    /// <summary>Counts a delivery; returns the items the backend kept.</summary>
    private long CountDelivered(Batch<T> batch, ExportResult result)
    {
        var rejected = Math.Clamp(result.RejectedItems, 0, batch.ItemCount);
        telemetry.Sent.Add(batch.ItemCount - rejected);
        if (rejected > 0)
        {
            telemetry.RejectedPartial.Add(rejected);
        }

        // partial_success with nothing rejected is still a warning from the backend (OTLP spec).
        if ((rejected > 0 || !string.IsNullOrEmpty(result.Error)) && telemetry.FirstTime("partial", result.Error))
        {
            telemetry.Logger.Warning(
                "Exporter {Exporter}: the backend rejected {Rejected} of {Count} {Items}: {Error} (logged once per cause, counted always)",
                telemetry.Exporter, rejected, batch.ItemCount, telemetry.Items, result.Error);
        }

        return batch.ItemCount - rejected;
    }
}
