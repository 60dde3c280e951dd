using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>What the exporter helper needs of an exporter's config.</summary>
internal sealed record ExporterHelperSettings(TimeSpan Timeout, RetryOnFailureConfig Retry, SendingQueueConfig Queue)
{
    public static ExporterHelperSettings From(ExporterConfigBase config) => new(config.Timeout, config.RetryOnFailure, config.SendingQueue);
}

/// <summary>
/// Wraps a backend-specific <see cref="IExportSender{T}"/> into an exporter: a chain of small senders,
/// as the OpenTelemetry Collector's exporterhelper is (see README.md):
/// queue (<see cref="QueueSender{T}"/> over a <see cref="MemoryQueue{T}"/> or a <see cref="SpoolQueue{T}"/>;
/// <see cref="CallerSender{T}"/> when the queue is disabled) -> counting (<see cref="CountingSender{T}"/>)
/// -> retry (<see cref="RetrySender{T}"/>) -> per-attempt timeout (<see cref="TimeoutSender{T}"/>) -> sender.
/// This class composes them and runs the lifecycle: start, shutdown draining, and the abort when
/// shutdown runs out of time. It is also an admission gate of every pipeline it serves: under
/// <c>sending_queue.on_full: reject</c> a full queue refuses at the door (see <see cref="IExportQueue{T}.AdmissionRefusal"/>).
/// </summary>
internal sealed class ExporterHelper<T> : IExporter<T>, IAdmissionControl
    where T : class, IMessage<T>
{
    private readonly ExporterHelperSettings _settings;
    private readonly IExportSender<T> _sender;
    private readonly ExporterTelemetry _telemetry;
    private readonly ExportStopping _stopping = new();
    private readonly IExportQueue<T>? _queue;
    private readonly QueueSender<T>? _queueSender;
    private readonly CallerSender<T>? _callerSender;
    private readonly Lock _lifecycle = new();

    private bool _started;
    private Task? _shutdown;

    public ExporterHelper(ComponentContext context, ExporterHelperSettings settings, IExportSender<T> sender)
    {
        _settings = settings;
        _sender = sender;
        var signal = SignalOps<T>.Instance.Signal;
        _telemetry = new ExporterTelemetry(context, signal);
        if (settings.Queue.Enabled)
        {
            var memory = new MemoryQueue<T>(context, settings.Queue, signal, _telemetry, _stopping);
            _queue = settings.Queue.Spool is { } spool
                ? new SpoolQueue<T>(context, memory, spool, settings.Retry, _telemetry, _stopping)
                : memory;
        }

        var queue = _queue;
        var retry = new RetrySender<T>(
            new TimeoutSender<T>(sender, settings.Timeout),
            settings.Retry,
            _telemetry.Retries,
            () => queue is { ParkInsteadOfRetry: true },
            spoolBehind: queue is SpoolQueue<T>);
        var counting = new CountingSender<T>(retry, _telemetry);
        if (queue is null)
        {
            _callerSender = new CallerSender<T>(counting, _telemetry, _stopping);
        }
        else
        {
            _queueSender = new QueueSender<T>(queue, counting, _stopping);
        }
    }

    public bool MutatesData => false;

    /// <summary>write_ahead: the receiver answers the client only after the spool commit.</summary>
    public bool RequiresDurableAck => _queue is { RequiresDurableAck: true };

    /// <summary>Without a queue the caller sends and waits: nothing fills, so nothing is refused here.</summary>
    public string? CheckAdmission(long incomingBytes) => _queue?.AdmissionRefusal() is { } refusal ? _telemetry.RefuseAdmission(refusal) : null;

    public bool IsRefusing => _queue?.AdmissionRefusal() is not null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            if (_queue is null || _started || _shutdown is not null)
            {
                return Task.CompletedTask;
            }

            _started = true;
            _queue.Start();
            _queueSender!.Start(_settings.Queue.NumConsumers);
        }

        return Task.CompletedTask;
    }

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            _queue.Enqueue(batch);
            return ValueTask.CompletedTask;
        }

        // Nothing here is durable: clients are not held; a durable door's acks wait for the send.
        batch.SettleTaken();
        return _callerSender!.SendAsync(batch, cancellationToken);
    }

    public Task ShutdownAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            _shutdown ??= ShutdownCoreAsync(cancellationToken);
            return _shutdown;
        }
    }

    private async Task ShutdownCoreAsync(CancellationToken cancellationToken)
    {
        _stopping.Begin();
        var droppedBefore = _telemetry.DroppedShutdown.Count;
        Task work;
        if (_queue is null)
        {
            work = _callerSender!.Drained;
        }
        else
        {
            // Consumers empty the queue (into the spool when there is one, else to the backend), then end.
            _queue.Complete(_started);
            work = _queueSender!.Drained;
        }

        try
        {
            await work.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: abort in-flight sends and backoff waits; what they held is spooled or counted as dropped.
            await _stopping.AbortAsync();
            await work;
        }

        if (_sender is IDisposable disposable)
        {
            disposable.Dispose();
        }

        if (_started)
        {
            _queue!.Stop();
        }

        var dropped = _telemetry.DroppedShutdown.Count - droppedBefore;
        if (dropped > 0)
        {
            _telemetry.Logger.Warning(
                "Exporter {Exporter} dropped {Count} {Items} at shutdown: not delivered within the shutdown timeout",
                _telemetry.Exporter, dropped, _telemetry.Items);
        }
    }
}
