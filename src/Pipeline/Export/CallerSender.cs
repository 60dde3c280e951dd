using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>
/// <c>sending_queue.enabled: false</c>: the caller sends (with retries) and waits for the outcome;
/// no spool is possible. Shutdown waits for the sends in flight (see <see cref="Drained"/>).
/// </summary>
internal sealed class CallerSender<T>(CountingSender<T> next, ExporterTelemetry telemetry, ExportStopping stopping)
    where T : class, IMessage<T>
{
    /// <summary>Completed when no send is in flight after shutdown began.</summary>
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;

    /// <summary>Call after shutdown began: completes once the sends in flight ended.</summary>
    public Task Drained
    {
        get
        {
            if (Volatile.Read(ref _inFlight) == 0)
            {
                _drained.TrySetResult();
            }

            return _drained.Task;
        }
    }

    public async ValueTask SendAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        // Counted before the stopping check, so that shutdown never misses a send that slipped past it.
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (stopping.IsStopping)
            {
                DropAtShutdown(batch);
                return;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping.Abort);
            if (linked.IsCancellationRequested)
            {
                DropAtShutdown(batch);
                return;
            }

            telemetry.SettleUnspooled(batch, await next.SendAsync(batch, linked.Token));
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0 && stopping.IsStopping)
            {
                _drained.TrySetResult();
            }
        }
    }

    private void DropAtShutdown(Batch<T> batch)
    {
        telemetry.DroppedShutdown.Add(batch.ItemCount);
        batch.FailDelivery("exporter is shutting down");
    }
}
