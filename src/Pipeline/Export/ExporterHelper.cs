using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>What the exporter helper needs of an exporter's config.</summary>
internal sealed record ExporterHelperSettings(TimeSpan Timeout, RetryOnFailureConfig Retry, SendingQueueConfig Queue)
{
    public static ExporterHelperSettings From(ExporterConfigBase config) => new(config.Timeout, config.RetryOnFailure, config.SendingQueue);
}

/// <summary>
/// Wraps a backend-specific <see cref="IExportSender{T}"/> into an exporter: bounded in-memory
/// queue -> retry with backoff -> per-attempt timeout. <see cref="ConsumeAsync"/> never waits for
/// the backend when the queue is on: a full queue drops the batch and counts it. Every batch
/// that leaves without being delivered is counted under one reason (queue_full, permanent,
/// retries_exhausted, poison, shutdown); a backend's partial rejection counts as partial_rejected.
/// </summary>
internal sealed class ExporterHelper<T> : IExporter<T>
    where T : class, IMessage<T>
{
    /// <summary>Bound on the distinct failure causes remembered for log-once; the set is cleared when full.</summary>
    private const int MaxLoggedCauses = 64;

    private readonly string _exporter;
    private readonly string _items;
    private readonly Serilog.ILogger _logger;
    private readonly ExporterHelperSettings _settings;
    private readonly IExportSender<T> _sender;
    private readonly Channel<Batch<T>>? _queue;

    /// <summary>Cancelled only when shutdown runs out of time: aborts in-flight sends and backoff waits.</summary>
    private readonly CancellationTokenSource _abort = new();

    /// <summary>Completed when no caller-side send (queue disabled) is in flight after shutdown began.</summary>
    private readonly TaskCompletionSource _callerSendsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly ConcurrentDictionary<string, byte> _loggedCauses = new(StringComparer.Ordinal);
    private readonly Lock _lifecycle = new();
    private readonly Counter _sent;
    private readonly Counter _retries;
    private readonly Counter _droppedQueueFull;
    private readonly Counter _droppedPermanent;
    private readonly Counter _droppedRetriesExhausted;
    private readonly Counter _droppedPoison;
    private readonly Counter _droppedShutdown;
    private readonly Counter _rejectedPartial;
    private Task[] _consumers = [];
    private bool _started;
    private Task? _shutdown;
    private int _stopping;
    private int _callerSendsInFlight;

    public ExporterHelper(ComponentContext context, ExporterHelperSettings settings, IExportSender<T> sender)
    {
        _exporter = context.Id.ToString();
        _logger = context.Logger;
        _settings = settings;
        _sender = sender;
        var signal = SignalOps<T>.Instance.Signal;
        _items = signal.ItemName();

        var metrics = context.Metrics;
        var exporterLabel = ("exporter", _exporter);
        _sent = metrics.Counter($"collector_exporter_sent_{_items}_total", $"{_items} delivered to the backend", exporterLabel);
        _retries = metrics.Counter("collector_exporter_retries_total", "send attempts retried after a retryable failure", exporterLabel);
        var failedName = $"collector_exporter_send_failed_{_items}_total";
        var failedHelp = $"{_items} not delivered, by reason";
        _droppedQueueFull = metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", "queue_full"));
        _droppedPermanent = metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", "permanent"));
        _droppedRetriesExhausted = metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", "retries_exhausted"));
        _droppedPoison = metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", "poison"));
        _droppedShutdown = metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", "shutdown"));
        _rejectedPartial = metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", "partial_rejected"));

        if (!settings.Queue.Enabled)
        {
            return;
        }

        // Wait mode (never DropWrite, whose drops are invisible): ConsumeAsync uses TryWrite, so a
        // full queue is seen, counted and routed through OnQueueFull instead of blocking the caller.
        _queue = Channel.CreateBounded<Batch<T>>(new BoundedChannelOptions(settings.Queue.QueueSize)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = settings.Queue.NumConsumers == 1,
            SingleWriter = false,
        });
        // data_type keeps the series apart when one exporter id serves pipelines of several signals.
        var dataType = ("data_type", signal.ToConfigName());
        var reader = _queue.Reader;
        metrics.Gauge("collector_exporter_queue_size", "batches waiting in the sending queue", () => reader.Count, exporterLabel, dataType);
        var capacity = settings.Queue.QueueSize;
        metrics.Gauge("collector_exporter_queue_capacity", "batches the sending queue holds", () => capacity, exporterLabel, dataType);
    }

    public bool MutatesData => false;

    /// <summary>False until the write-ahead spool exists: nothing here is durable yet.</summary>
    public bool RequiresDurableAck => false;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            if (_queue is null || _started || _shutdown is not null)
            {
                return Task.CompletedTask;
            }

            _started = true;
            var reader = _queue.Reader;
            var consumers = new Task[_settings.Queue.NumConsumers];
            for (var i = 0; i < consumers.Length; i++)
            {
                consumers[i] = Task.Run(() => ConsumeQueueAsync(reader), CancellationToken.None);
            }

            _consumers = consumers;
        }

        return Task.CompletedTask;
    }

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        // Acks stand for durability, and nothing in memory is durable: settle them as soon as the
        // batch is taken (or dropped) so that clients are not held. The write-ahead spool will move
        // this to after its commit.
        batch.CompleteAcks();
        if (_queue is null)
        {
            return SendInCallerAsync(batch, cancellationToken);
        }

        if (Volatile.Read(ref _stopping) == 1)
        {
            Drop(batch, _droppedShutdown);
        }
        else if (!_queue.Writer.TryWrite(batch))
        {
            // TryWrite also fails once shutdown has completed the writer.
            if (Volatile.Read(ref _stopping) == 1)
            {
                Drop(batch, _droppedShutdown);
            }
            else
            {
                OnQueueFull(batch);
            }
        }

        return ValueTask.CompletedTask;
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
        Interlocked.Exchange(ref _stopping, 1);
        var droppedBefore = _droppedShutdown.Count;
        Task work;
        if (_queue is null)
        {
            if (Volatile.Read(ref _callerSendsInFlight) == 0)
            {
                _callerSendsDone.TrySetResult();
            }

            work = _callerSendsDone.Task;
        }
        else
        {
            _queue.Writer.TryComplete();
            if (!_started)
            {
                while (_queue.Reader.TryRead(out var batch))
                {
                    Drop(batch, _droppedShutdown);
                }
            }

            // Consumers send what is left in the queue, then end when it is empty.
            work = Task.WhenAll(_consumers);
        }

        try
        {
            await work.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: abort in-flight sends and backoff waits; the rest is counted as dropped.
            await _abort.CancelAsync();
            await work;
        }

        if (_sender is IDisposable disposable)
        {
            disposable.Dispose();
        }

        var dropped = _droppedShutdown.Count - droppedBefore;
        if (dropped > 0)
        {
            _logger.Warning("Exporter {Exporter} dropped {Count} {Items} at shutdown: not delivered within the shutdown timeout", _exporter, dropped, _items);
        }
    }

    private async Task ConsumeQueueAsync(ChannelReader<Batch<T>> reader)
    {
        // No token: the loop ends when shutdown has completed the writer and the queue is empty.
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var batch))
            {
                if (_abort.IsCancellationRequested)
                {
                    Drop(batch, _droppedShutdown);
                }
                else
                {
                    await SendWithRetryAsync(batch, _abort.Token);
                }
            }
        }
    }

    /// <summary>Queue disabled: the caller waits for delivery (with retries).</summary>
    private async ValueTask SendInCallerAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        // Counted before the stopping check, so that shutdown never misses a send that slipped past it.
        Interlocked.Increment(ref _callerSendsInFlight);
        try
        {
            if (Volatile.Read(ref _stopping) == 1)
            {
                Drop(batch, _droppedShutdown);
                return;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
            await SendWithRetryAsync(batch, linked.Token);
        }
        finally
        {
            if (Interlocked.Decrement(ref _callerSendsInFlight) == 0 && Volatile.Read(ref _stopping) == 1)
            {
                _callerSendsDone.TrySetResult();
            }
        }
    }

    /// <summary>Delivers or drops the batch, counting the outcome; never throws. Cancellation counts as a shutdown drop.</summary>
    private async Task SendWithRetryAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            ExportResult result;
            try
            {
                result = await AttemptAsync(batch, cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                Drop(batch, _droppedShutdown);
                return;
            }

            if (result.Outcome == ExportOutcome.Success)
            {
                OnDelivered(batch, result);
                return;
            }

            if (result.Outcome == ExportOutcome.Permanent)
            {
                Drop(batch, _droppedPermanent);
                if (FirstTime("permanent", result.Error))
                {
                    _logger.Error(
                        "Exporter {Exporter} dropped {Count} {Items}: permanent error {Error} (logged once per cause, counted always)",
                        _exporter, batch.ItemCount, _items, result.Error);
                }

                return;
            }

            if (!TryGetRetryDelay(attempt, result, Stopwatch.GetElapsedTime(started), out var delay))
            {
                OnRetriesExhausted(batch, result);
                return;
            }

            _retries.Increment();
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Drop(batch, _droppedShutdown);
                return;
            }
        }
    }

    /// <summary>One attempt within the per-attempt timeout; exceptions become results unless <paramref name="cancellationToken"/> fired.</summary>
    private async Task<ExportResult> AttemptAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_settings.Timeout);
        try
        {
            return await _sender.SendAsync(batch, attempt.Token);
        }
        catch (Exception) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ExportResult.Retryable($"attempt timed out after {Configuration.Duration.Format(_settings.Timeout)}");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return RetryClassifier.FromException(e);
        }
    }

    /// <summary>
    /// The wait before the next attempt, or false when retrying must stop. A server-given delay
    /// (Retry-After, RetryInfo) replaces the backoff; either way max_elapsed_time caps the total.
    /// </summary>
    private bool TryGetRetryDelay(int attempt, ExportResult result, TimeSpan elapsed, out TimeSpan delay)
    {
        var retry = _settings.Retry;
        delay = TimeSpan.Zero;
        if (!retry.Enabled || (retry.MaxAttempts > 0 && attempt >= retry.MaxAttempts))
        {
            return false;
        }

        delay = result.RetryAfter is { } serverDelay && serverDelay > TimeSpan.Zero ? serverDelay : Backoff(retry, attempt);
        return retry.MaxElapsedTime <= TimeSpan.Zero || elapsed + delay <= retry.MaxElapsedTime;
    }

    /// <summary>initial_interval * multiplier^(n-1), capped at max_interval, scaled by a random factor in [1-r, 1+r].</summary>
    private static TimeSpan Backoff(RetryOnFailureConfig retry, int retryNumber)
    {
        var ms = retry.InitialInterval.TotalMilliseconds * Math.Pow(retry.Multiplier, retryNumber - 1);
        ms = Math.Min(ms, retry.MaxInterval.TotalMilliseconds);
        var jitter = 1 + (retry.RandomizationFactor * ((2 * Random.Shared.NextDouble()) - 1));
        return TimeSpan.FromMilliseconds(ms * jitter);
    }

    private void OnDelivered(Batch<T> batch, ExportResult result)
    {
        var rejected = Math.Clamp(result.RejectedItems, 0, batch.ItemCount);
        _sent.Add(batch.ItemCount - rejected);
        if (rejected > 0)
        {
            _rejectedPartial.Add(rejected);
        }

        // partial_success with nothing rejected is still a warning from the backend (OTLP spec).
        if ((rejected > 0 || !string.IsNullOrEmpty(result.Error)) && FirstTime("partial", result.Error))
        {
            _logger.Warning(
                "Exporter {Exporter}: the backend rejected {Rejected} of {Count} {Items}: {Error} (logged once per cause, counted always)",
                _exporter, rejected, batch.ItemCount, _items, result.Error);
        }
    }

    /// <summary>Seam for the spool (durability on_failure): a full queue will spill the batch to disk instead.</summary>
    private void OnQueueFull(Batch<T> batch)
    {
        Drop(batch, _droppedQueueFull);
        if (FirstTime("queue_full", null))
        {
            _logger.Warning(
                "Exporter {Exporter}: sending queue full ({Capacity} batches), dropping {Items} (logged once, counted always)",
                _exporter, _settings.Queue.QueueSize, _items);
        }
    }

    /// <summary>Seam for the spool (durability on_failure): a batch the backend would not take in time will wait on disk instead.</summary>
    private void OnRetriesExhausted(Batch<T> batch, ExportResult lastResult)
    {
        if (lastResult.PoisonDetail is { } detail)
        {
            // Never kept for later (spool): the payload itself may be what the backend refuses.
            // Logged every time, not once per cause: each poison batch is data an operator may need to find.
            Drop(batch, _droppedPoison);
            _logger.Warning(
                "Exporter {Exporter} dropped {Count} {Items} as a poison batch after retries: {Error}; {Detail}",
                _exporter, batch.ItemCount, _items, lastResult.Error, detail);
            return;
        }

        Drop(batch, _droppedRetriesExhausted);
        if (FirstTime("retries_exhausted", lastResult.Error))
        {
            _logger.Warning(
                "Exporter {Exporter} dropped {Count} {Items} after retries: {Error} (logged once per cause, counted always)",
                _exporter, batch.ItemCount, _items, lastResult.Error);
        }
    }

    private static void Drop(Batch<T> batch, Counter reason) => reason.Add(batch.ItemCount);

    /// <summary>True the first time a cause is seen, so that an outage logs once rather than once per batch.</summary>
    private bool FirstTime(string kind, string? cause)
    {
        if (_loggedCauses.Count >= MaxLoggedCauses)
        {
            _loggedCauses.Clear();
        }

        return _loggedCauses.TryAdd(cause is null ? kind : $"{kind}: {cause}", 0);
    }
}
