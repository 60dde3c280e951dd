using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Collector.Pipeline.Spool;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Collector.Pipeline.Export;

/// <summary>What the exporter helper needs of an exporter's config.</summary>
internal sealed record ExporterHelperSettings(TimeSpan Timeout, RetryOnFailureConfig Retry, SendingQueueConfig Queue)
{
    public static ExporterHelperSettings From(ExporterConfigBase config) => new(config.Timeout, config.RetryOnFailure, config.SendingQueue);
}

/// <summary>
/// Wraps a backend-specific <see cref="IExportSender{T}"/> into an exporter: bounded in-memory
/// queue -> retry with backoff -> per-attempt timeout, optionally backed by the exporter's disk
/// spool (<c>sending_queue.spool</c>, see README.md):
/// <list type="bullet">
/// <item><c>write_ahead</c>: every batch is committed to the spool (leased to this helper) before its
/// acks settle; it is then sent from memory and deleted from the spool once the backend took it.</item>
/// <item><c>on_failure</c>: batches go to the spool instead of being dropped when the queue is full,
/// in-memory retries are exhausted, or shutdown comes.</item>
/// </list>
/// Consumers alternate between fresh batches and spooled ones (oldest first), so neither starves.
/// Every batch that leaves without being delivered is counted under one reason; a batch the
/// backend keeps refusing as its own fault (ExportResult.PoisonDetail) is dropped as poison, never spooled.
/// </summary>
internal sealed class ExporterHelper<T> : IExporter<T>
    where T : class, IMessage<T>
{
    /// <summary>Bound on the distinct failure causes remembered for log-once; the set is cleared when full.</summary>
    private const int MaxLoggedCauses = 64;

    /// <summary>Spooled batches that fail to parse in a row before a consumer gives the turn back.</summary>
    private const int MaxUnreadablePerLease = 8;

    private static readonly SignalOps<T> Ops = SignalOps<T>.Instance;

    private readonly string _exporter;
    private readonly string _items;
    private readonly Signal _signal;
    private readonly Serilog.ILogger _logger;
    private readonly ExporterHelperSettings _settings;
    private readonly IExportSender<T> _sender;
    private readonly Channel<Work>? _queue;
    private readonly SharedSpool? _sharedSpool;
    private readonly ReplayGate? _replay;
    private readonly bool _writeAhead;

    /// <summary>Cancelled only when shutdown runs out of time: aborts in-flight sends and backoff waits.</summary>
    private readonly CancellationTokenSource _abort = new();

    /// <summary>Completed when no caller-side send (queue disabled) is in flight after shutdown began.</summary>
    private readonly TaskCompletionSource _callerSendsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly ConcurrentDictionary<string, byte> _loggedCauses = new(StringComparer.Ordinal);
    private readonly Lock _lifecycle = new();
    private readonly Counter _sent;
    private readonly Counter _retries;
    private readonly Counter _spooled;
    private readonly Counter _replayed;
    private readonly Counter _bypassed;
    private readonly Counter _droppedQueueFull;
    private readonly Counter _droppedPermanent;
    private readonly Counter _droppedRetriesExhausted;
    private readonly Counter _droppedPoison;
    private readonly Counter _droppedShutdown;
    private readonly Counter _rejectedPartial;
    private readonly Counter _droppedOldest;
    private readonly Counter _droppedSpoolFull;
    private readonly Counter _droppedSpoolError;
    private readonly Counter _droppedUnreadable;
    private readonly Counter _refusedSpoolFull;
    private readonly Counter _refusedNoRoom;
    private readonly Counter _refusedShutdown;

    /// <summary>The open spool while started (null before start, after shutdown, or without a spool).</summary>
    private DiskSpool? _spool;
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
        _signal = Ops.Signal;
        _items = _signal.ItemName();

        var metrics = context.Metrics;
        var exporterLabel = ("exporter", _exporter);
        _sent = metrics.Counter($"collector_exporter_sent_{_items}_total", $"{_items} delivered to the backend", exporterLabel);
        _retries = metrics.Counter("collector_exporter_retries_total", "send attempts retried after a retryable failure", exporterLabel);
        _spooled = metrics.Counter($"collector_exporter_spooled_{_items}_total", $"{_items} committed to the spool", exporterLabel);
        _replayed = metrics.Counter($"collector_exporter_replayed_{_items}_total", $"{_items} delivered after being read back from the spool", exporterLabel);
        _bypassed = metrics.Counter(
            $"collector_exporter_spool_bypassed_{_items}_total",
            $"write_ahead {_items} acknowledged without a spool commit because the spool failed (kept in memory only)",
            exporterLabel);
        var failedName = $"collector_exporter_send_failed_{_items}_total";
        var failedHelp = $"{_items} not delivered, by reason";
        Counter Failed(string reason) => metrics.Counter(failedName, failedHelp, exporterLabel, ("reason", reason));
        _droppedQueueFull = Failed("queue_full");
        _droppedPermanent = Failed("permanent");
        _droppedRetriesExhausted = Failed("retries_exhausted");
        _droppedPoison = Failed("poison");
        _droppedShutdown = Failed("shutdown");
        _rejectedPartial = Failed("partial_rejected");
        _droppedOldest = Failed("drop_oldest");
        _droppedSpoolFull = Failed("spool_full");
        _droppedSpoolError = Failed("spool_error");
        _droppedUnreadable = Failed("spool_unreadable");
        var refusedName = $"collector_exporter_refused_{_items}_total";
        var refusedHelp = $"write_ahead {_items} refused before a commit (the client is told to retry), by reason";
        _refusedSpoolFull = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "spool_full"));
        _refusedNoRoom = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "queue_full"));
        _refusedShutdown = metrics.Counter(refusedName, refusedHelp, exporterLabel, ("reason", "shutdown"));

        if (!settings.Queue.Enabled)
        {
            return;
        }

        // Wait mode (never DropWrite, whose drops are invisible): ConsumeAsync uses TryWrite, so a
        // full queue is seen, counted and routed to the spool or dropped instead of blocking the caller.
        _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(settings.Queue.QueueSize)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = settings.Queue.NumConsumers == 1,
            SingleWriter = false,
        });
        // data_type keeps the series apart when one exporter id serves pipelines of several signals.
        var dataType = ("data_type", _signal.ToConfigName());
        var reader = _queue.Reader;
        metrics.Gauge("collector_exporter_queue_size", "batches waiting in the sending queue", () => reader.Count, exporterLabel, dataType);
        var capacity = settings.Queue.QueueSize;
        metrics.Gauge("collector_exporter_queue_capacity", "batches the sending queue holds", () => capacity, exporterLabel, dataType);

        if (settings.Queue.Spool is { } spool)
        {
            _sharedSpool = SharedSpool.For(context, spool);
            _writeAhead = spool.Durability == SpoolDurability.WriteAhead;
            _replay = new ReplayGate(settings.Retry.InitialInterval, settings.Retry.MaxInterval);
        }
    }

    private enum SendOutcome
    {
        Delivered,
        Permanent,
        RetriesExhausted,

        /// <summary>Shutdown: cancelled, or stopped retrying so that the batch goes to the spool.</summary>
        Stopped,
    }

    public bool MutatesData => false;

    /// <summary>write_ahead: the receiver answers the client only after the spool commit.</summary>
    public bool RequiresDurableAck => _writeAhead;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            if (_queue is null || _started || _shutdown is not null)
            {
                return Task.CompletedTask;
            }

            _started = true;
            if (_sharedSpool is not null)
            {
                // Opening runs recovery (corrupt files moved aside); it never throws for I/O.
                Volatile.Write(ref _spool, _sharedSpool.Acquire(_signal, CountDroppedOldest));
            }

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
        if (_writeAhead)
        {
            ConsumeWriteAhead(batch);
            return ValueTask.CompletedTask;
        }

        // Without write-ahead nothing here is durable: settle the acks as soon as the batch is taken
        // (or dropped) so that clients are not held.
        batch.CompleteAcks();
        if (_queue is null)
        {
            return SendInCallerAsync(batch, cancellationToken);
        }

        if (Volatile.Read(ref _stopping) == 1)
        {
            Spill(batch, _droppedShutdown);
        }
        else if (!_queue.Writer.TryWrite(new Work(batch, 0, false, 0)))
        {
            // TryWrite also fails once shutdown has completed the writer.
            if (Volatile.Read(ref _stopping) == 1)
            {
                Spill(batch, _droppedShutdown);
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
                while (_queue.Reader.TryRead(out var item))
                {
                    Drop(item.Batch, _droppedShutdown);
                }
            }

            // Consumers empty the queue (into the spool when there is one, else to the backend), then end.
            work = Task.WhenAll(_consumers);
        }

        try
        {
            await work.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: abort in-flight sends and backoff waits; what they held is spooled or counted as dropped.
            await _abort.CancelAsync();
            await work;
        }

        if (_sender is IDisposable disposable)
        {
            disposable.Dispose();
        }

        if (_started && _sharedSpool is not null)
        {
            Volatile.Write(ref _spool, null);
            _sharedSpool.Release();
        }

        var dropped = _droppedShutdown.Count - droppedBefore;
        if (dropped > 0)
        {
            _logger.Warning("Exporter {Exporter} dropped {Count} {Items} at shutdown: not delivered within the shutdown timeout", _exporter, dropped, _items);
        }
    }

    /// <summary>
    /// write_ahead: commit, then settle the acks: complete once every part is durable (or, when the
    /// spool failed, kept in memory: counted as bypassed), fail when it could not be kept at all (the
    /// client retries). The batch may be shared with other exporters of the pipeline: it is never mutated.
    /// </summary>
    private void ConsumeWriteAhead(Batch<T> batch)
    {
        // The pipeline drains before exporters stop, so only a straggler meets a stopping exporter.
        var refusal = Volatile.Read(ref _stopping) == 1 ? ("exporter is shutting down", _refusedShutdown) : WriteAhead(batch);
        if (refusal is not { } refused)
        {
            batch.CompleteAcks();
            return;
        }

        // The client retries the whole request, so the whole batch counts as refused (parts of a
        // split batch that were stored are delivered anyway: at-least-once).
        refused.Counter.Add(batch.ItemCount);
        batch.FailAcks(refused.Reason);
    }

    /// <summary>Commits <paramref name="batch"/> (leased) and queues it; returns why and where to count a refusal, or null when kept.</summary>
    private (string Reason, Counter Counter)? WriteAhead(Batch<T> batch)
    {
        var spool = Volatile.Read(ref _spool);
        var payload = spool is null ? null : batch.ToRequestBytes();
        var result = spool is null
            ? new SpoolAppendResult(SpoolAppendStatus.Failed, Error: "spool not open")
            : spool.TryAppend(_signal, payload, batch.ItemCount, lease: true);
        switch (result.Status)
        {
            case SpoolAppendStatus.Appended or SpoolAppendStatus.DroppedOldest:
                _spooled.Add(batch.ItemCount);
                var held = payload!.Length;
                if (!_sharedSpool!.TryHold(held))
                {
                    held = 0;
                }

                // The queue carries the committed bytes: the sender forwards them without serialising
                // again, and the decoded objects are garbage now rather than after the send.
                var committed = Batch<T>.FromEncoded(payload, batch.ItemCount, payload.Length, batch.ClientAddress);
                if (held == 0 || !_queue!.Writer.TryWrite(new Work(committed, result.Id, false, held)))
                {
                    // Durable already: a consumer replays it from the spool when it is free.
                    _sharedSpool.Unhold(held);
                    spool!.Release(result.Id);
                    _replay!.Raise();
                }

                return null;

            case SpoolAppendStatus.Full:
                WarnOnce("spool_full", null, "Exporter {Exporter}: spool full, refusing new {Items} (clients are told to retry; logged once, counted always)");
                return ("exporter spool is full", _refusedSpoolFull);

            case SpoolAppendStatus.TooLarge when TrySplitCopy(batch, out var first, out var rest):
                return WriteAhead(first) ?? WriteAhead(rest);

            default:
                // Failed (disk, permission, unavailable) or one unsplittable item above the payload limit:
                // keep it in memory so that data still flows; durability is lost for it, so count and say so.
                if (!_queue!.Writer.TryWrite(new Work(batch, 0, false, 0)))
                {
                    return ("exporter queue is full and its spool failed", _refusedNoRoom);
                }

                _bypassed.Add(batch.ItemCount);
                WarnOnce("bypassed", result.Error,
                    "Exporter {Exporter}: spool write failed ({Error}); {Items} are kept in memory only and are NOT durable (logged once per cause, counted always)");
                return null;
        }
    }

    private async Task ConsumeQueueAsync(ChannelReader<Work> reader)
    {
        // Alternate between fresh and spooled batches when both are waiting, so that neither starves.
        var preferReplay = false;
        while (true)
        {
            Work work;
            var found = preferReplay
                ? TryLeaseReplay(out work) || reader.TryRead(out work)
                : reader.TryRead(out work) || TryLeaseReplay(out work);
            if (found)
            {
                preferReplay = !work.Replayed;
                await DeliverAsync(work, _abort.Token);
                continue;
            }

            // No token: the loop ends when shutdown has completed the writer and the queue is empty.
            if (!await WaitForWorkAsync(reader))
            {
                return;
            }
        }
    }

    /// <summary>Waits for a fresh batch, or for the spool to have something to replay; false when the queue is done.</summary>
    private async Task<bool> WaitForWorkAsync(ChannelReader<Work> reader)
    {
        var replay = _replay;
        if (replay is null || Volatile.Read(ref _stopping) == 1)
        {
            return await reader.WaitToReadAsync();
        }

        // Taken before the check, so that a change between the check and the wait is not missed.
        var changed = replay.Changed;
        if (replay.IsOpen(out _))
        {
            return true;
        }

        using var stop = new CancellationTokenSource();
        var read = reader.WaitToReadAsync(stop.Token).AsTask();
        var backoff = replay.MayHaveWork ? replay.BackoffRemaining : TimeSpan.Zero;
        var backoffEnd = backoff > TimeSpan.Zero ? Task.Delay(backoff, stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
        var first = await Task.WhenAny(read, changed, backoffEnd);
        await stop.CancelAsync();
        if (first == read)
        {
            return await read;
        }

        return true;
    }

    /// <summary>Leases the oldest spooled batch of this signal when the gate is open, and parses it.</summary>
    private bool TryLeaseReplay(out Work work)
    {
        work = default;
        var spool = Volatile.Read(ref _spool);
        var replay = _replay;
        if (spool is null || replay is null || Volatile.Read(ref _stopping) == 1)
        {
            return false;
        }

        for (var i = 0; i < MaxUnreadablePerLease; i++)
        {
            if (!replay.IsOpen(out var epoch))
            {
                return false;
            }

            if (!spool.TryLeaseOldest(_signal, out var entry))
            {
                if (spool.IsAvailable)
                {
                    replay.FoundEmpty(epoch);
                }
                else
                {
                    // Unreadable right now (it reopens by itself): look again later, not in a loop.
                    replay.BackOff();
                }

                return false;
            }

            // Replayed as the bytes that were spooled (no decode and re-encode) when the wire scan
            // vouches for them; anything doubtful is decoded, as a fresh request would be.
            Batch<T> batch;
            if (Otlp.OtlpWireScanner.TryScan(_signal, entry.Payload, out _))
            {
                batch = Batch<T>.FromEncoded(entry.Payload, entry.ItemCount, entry.Payload.Length, null);
            }
            else
            {
                RepeatedField<T> resources;
                try
                {
                    resources = Ops.ParseRequest(entry.Payload);
                }
                catch (InvalidProtocolBufferException e)
                {
                    // Cannot happen with our own payloads unless the file was tampered with: never send garbage.
                    spool.Delete(entry.Id);
                    Drop(entry.ItemCount, _droppedUnreadable);
                    WarnOnce("unreadable", e.Message, "Exporter {Exporter}: dropped a spooled batch that does not parse ({Error}); {Items} lost (logged once per cause, counted always)");
                    continue;
                }

                batch = new Batch<T>(resources, entry.ItemCount, entry.Payload.Length);
            }

            batch.ReceivedAt = entry.CreatedAt;
            work = new Work(batch, entry.Id, true, 0);
            return true;
        }

        return false;
    }

    /// <summary>Queue disabled (no spool possible): the caller waits for delivery (with retries).</summary>
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
            await DeliverAsync(new Work(batch, 0, false, 0), linked.Token);
        }
        finally
        {
            if (Interlocked.Decrement(ref _callerSendsInFlight) == 0 && Volatile.Read(ref _stopping) == 1)
            {
                _callerSendsDone.TrySetResult();
            }
        }
    }

    /// <summary>Sends one batch (with retries) and settles it: counted, and deleted from, released to or written to the spool. Never throws.</summary>
    private async Task DeliverAsync(Work work, CancellationToken cancellationToken)
    {
        try
        {
            await DeliverCoreAsync(work, cancellationToken);
        }
        finally
        {
            if (work.HeldBytes > 0)
            {
                _sharedSpool!.Unhold(work.HeldBytes);
            }
        }
    }

    private async Task DeliverCoreAsync(Work work, CancellationToken cancellationToken)
    {
        var batch = work.Batch;
        if (ParkingAtShutdown() || cancellationToken.IsCancellationRequested)
        {
            Park(work);
            return;
        }

        var (outcome, result) = await SendWithRetryAsync(batch, cancellationToken);
        switch (outcome)
        {
            case SendOutcome.Delivered:
                var delivered = OnDelivered(batch, result);
                if (work.Replayed)
                {
                    _replayed.Add(delivered);
                }

                Forget(work);
                _replay?.Resume();
                break;

            case SendOutcome.Permanent:
                Drop(batch, _droppedPermanent);
                if (FirstTime("permanent", result.Error))
                {
                    _logger.Error(
                        "Exporter {Exporter} dropped {Count} {Items}: permanent error {Error} (logged once per cause, counted always)",
                        _exporter, batch.ItemCount, _items, result.Error);
                }

                Forget(work);
                break;

            case SendOutcome.RetriesExhausted when result.PoisonDetail is { } detail:
                // Never kept for later: the payload itself may be what the backend refuses, and a
                // spooled poison batch would block replay. Logged every time: each is data an operator may need to find.
                Drop(batch, _droppedPoison);
                _logger.Warning(
                    "Exporter {Exporter} dropped {Count} {Items} as a poison batch after retries: {Error}; {Detail}",
                    _exporter, batch.ItemCount, _items, result.Error, detail);
                Forget(work);
                break;

            case SendOutcome.RetriesExhausted:
                _replay?.BackOff();
                if (work.SpoolId > 0)
                {
                    // It waits in the spool; the replay path tries again after the backoff.
                    Volatile.Read(ref _spool)?.Release(work.SpoolId);
                    _replay?.Raise();
                }
                else
                {
                    OnRetriesExhausted(batch, result);
                }

                break;

            default:
                Park(work);
                break;
        }
    }

    /// <summary>With a usable spool, shutdown writes batches there instead of trying the backend again.</summary>
    private bool ParkingAtShutdown() => Volatile.Read(ref _stopping) == 1 && Volatile.Read(ref _spool) is { IsAvailable: true };

    /// <summary>Shutdown: a spooled batch just stays (its lease ends), an in-memory one is written to the spool or counted as dropped.</summary>
    private void Park(Work work)
    {
        var spool = Volatile.Read(ref _spool);
        if (work.SpoolId > 0 && spool is not null)
        {
            spool.Release(work.SpoolId);
            return;
        }

        Spill(work.Batch, _droppedShutdown);
    }

    /// <summary>The backend took the batch or rejected it for good: it leaves the spool.</summary>
    private void Forget(Work work)
    {
        if (work.SpoolId > 0)
        {
            Volatile.Read(ref _spool)?.Delete(work.SpoolId);
        }
    }

    /// <summary>Delivers or gives up on the batch; never throws. Cancellation, or a failure during shutdown with a spool to go to, ends as Stopped.</summary>
    private async Task<(SendOutcome Outcome, ExportResult Result)> SendWithRetryAsync(Batch<T> batch, CancellationToken cancellationToken)
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
                return (SendOutcome.Stopped, default);
            }

            if (result.Outcome == ExportOutcome.Success)
            {
                return (SendOutcome.Delivered, result);
            }

            if (result.Outcome == ExportOutcome.Permanent)
            {
                return (SendOutcome.Permanent, result);
            }

            if (ParkingAtShutdown())
            {
                return (SendOutcome.Stopped, result);
            }

            if (!TryGetRetryDelay(attempt, result, Stopwatch.GetElapsedTime(started), out var delay))
            {
                return (SendOutcome.RetriesExhausted, result);
            }

            _retries.Increment();
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return (SendOutcome.Stopped, result);
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

    /// <summary>Counts a delivery; returns the items the backend kept.</summary>
    private long OnDelivered(Batch<T> batch, ExportResult result)
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

        return batch.ItemCount - rejected;
    }

    /// <summary>Queue full: on_failure spills the batch to the spool, otherwise it is dropped.</summary>
    private void OnQueueFull(Batch<T> batch)
    {
        if (_sharedSpool is not null)
        {
            Spill(batch, _droppedQueueFull);
            return;
        }

        Drop(batch, _droppedQueueFull);
        WarnOnce("queue_full", null, "Exporter {Exporter}: sending queue full, dropping {Items} (logged once, counted always)");
    }

    /// <summary>The backend would not take the batch in time: it waits in the spool if there is one, else it is dropped.</summary>
    private void OnRetriesExhausted(Batch<T> batch, ExportResult lastResult)
    {
        if (_sharedSpool is not null)
        {
            Spill(batch, _droppedRetriesExhausted);
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

    /// <summary>
    /// Writes an in-memory batch to the spool (unleased: the replay path delivers it). Without a
    /// spool it is dropped under <paramref name="noSpoolReason"/>; a full or failing spool drops it
    /// under spool_full / spool_error. The batch is not mutated (it may be shared).
    /// </summary>
    private void Spill(Batch<T> batch, Counter noSpoolReason)
    {
        var spool = Volatile.Read(ref _spool);
        if (spool is null)
        {
            Drop(batch, noSpoolReason);
            return;
        }

        var result = spool.TryAppend(_signal, batch.ToRequestBytes(), batch.ItemCount);
        switch (result.Status)
        {
            case SpoolAppendStatus.Appended or SpoolAppendStatus.DroppedOldest:
                _spooled.Add(batch.ItemCount);
                _replay!.Raise();
                break;

            case SpoolAppendStatus.Full:
                Drop(batch, _droppedSpoolFull);
                WarnOnce("spool_full", null, "Exporter {Exporter}: spool full, dropping {Items} that could not be delivered (logged once, counted always)");
                break;

            case SpoolAppendStatus.TooLarge when TrySplitCopy(batch, out var first, out var rest):
                Spill(first, noSpoolReason);
                Spill(rest, noSpoolReason);
                break;

            default:
                Drop(batch, _droppedSpoolError);
                WarnOnce("spool_error", result.Error, "Exporter {Exporter}: spool write failed ({Error}), dropping {Items} that could not be delivered (logged once per cause, counted always)");
                break;
        }
    }

    /// <summary>Told by the spool, after the commit, how many items of this signal drop_oldest deleted (whoever's append caused it).</summary>
    private void CountDroppedOldest(long items)
    {
        _droppedOldest.Add(items);
        WarnOnce("drop_oldest", null, "Exporter {Exporter}: spool full, dropping the oldest spooled {Items} to make room (logged once, counted always)");
    }

    /// <summary>
    /// Halves a copy of the batch (the original may be shared with other exporters); false when it
    /// cannot be split (a single item, or one metric holding every point).
    /// </summary>
    private static bool TrySplitCopy(Batch<T> batch, out Batch<T> first, out Batch<T> rest)
    {
        var resources = new RepeatedField<T>();
        foreach (var resource in batch.Resources)
        {
            resources.Add(resource.Clone());
        }

        var head = Ops.SplitOff(resources, batch.ItemCount / 2, out var moved);
        first = new Batch<T>(head, moved) { ReceivedAt = batch.ReceivedAt };
        rest = new Batch<T>(resources, batch.ItemCount - moved) { ReceivedAt = batch.ReceivedAt };
        return moved > 0 && moved < batch.ItemCount;
    }

    private static void Drop(Batch<T> batch, Counter reason) => reason.Add(batch.ItemCount);

    private static void Drop(long items, Counter reason) => reason.Add(items);

    /// <summary>Logs a warning the first time a cause is seen; the template takes {Exporter}, then {Error} if present, then {Items}.</summary>
    private void WarnOnce(string kind, string? cause, string template)
    {
        if (!FirstTime(kind, cause))
        {
            return;
        }

        if (template.Contains("{Error}", StringComparison.Ordinal))
        {
            _logger.Warning(template, _exporter, cause, _items);
        }
        else
        {
            _logger.Warning(template, _exporter, _items);
        }
    }

    /// <summary>True the first time a cause is seen, so that an outage logs once rather than once per batch.</summary>
    private bool FirstTime(string kind, string? cause)
    {
        if (_loggedCauses.Count >= MaxLoggedCauses)
        {
            _loggedCauses.Clear();
        }

        return _loggedCauses.TryAdd(cause is null ? kind : $"{kind}: {cause}", 0);
    }

    /// <summary>
    /// A batch on its way: <see cref="SpoolId"/> is its spool row (0 when it is in memory only);
    /// <see cref="Replayed"/> when read back from the spool; <see cref="HeldBytes"/> of the spool's
    /// in-memory allowance it holds until it leaves memory.
    /// </summary>
    private readonly record struct Work(Batch<T> Batch, long SpoolId, bool Replayed, int HeldBytes);
}
