using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Collector.Processors.Batch;

/// <summary>
/// Merges incoming batches until send_batch_size items or timeout, and splits anything over
/// send_batch_max_size. Pending data is bounded by send_batch_size plus one incoming batch;
/// sending happens in the caller's flow, a timer loop sends what waited too long. A send runs
/// outside the lock (a write-ahead exporter serialises and commits in it), at most one per core
/// at a time, so that concurrent callers keep merging while earlier batches are handed on.
/// </summary>
internal sealed class BatchProcessor<T> : IProcessor<T>
    where T : class, IMessage<T>
{
    private readonly BatchConfig _config;
    private readonly IConsumer<T> _next;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SemaphoreSlim _sendSlots = new(Environment.ProcessorCount, Environment.ProcessorCount);

    // Batches taken under the lock and not yet handed on; shutdown waits until none is left.
    private readonly TaskCompletionSource _sendsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _sendsOutstanding;
    private readonly SemaphoreSlim _firstItem = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Counter _sizeTriggers;
    private readonly Counter _timeoutTriggers;
    private readonly Serilog.ILogger _logger;
    private Batch<T>? _pending;
    private DateTime _pendingSince;
    private Task _timerLoop = Task.CompletedTask;
    private bool _stopped;

    public BatchProcessor(ComponentContext context, BatchConfig config, IConsumer<T> next)
    {
        _config = config;
        _next = next;
        _logger = context.Logger;
        var labels = new[] { ("processor", context.Id.ToString()), ("pipeline", context.PipelineId) };
        _sizeTriggers = context.Metrics.Counter("collector_processor_batch_batch_send_size_trigger_send_total", "Batches sent because they reached send_batch_size.", labels);
        _timeoutTriggers = context.Metrics.Counter("collector_processor_batch_timeout_trigger_send_total", "Batches sent because their timeout elapsed.", labels);
    }

    /// <summary>
    /// True: the first batch held becomes the merged one (later batches' resources are appended
    /// to it, oversized ones are split in place). Copying instead would cost an allocation per
    /// merge on the hot path; processors are never fan-out targets, so the flag costs nothing.
    /// </summary>
    public bool MutatesData => true;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timerLoop = Task.Run(TimerLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _stopped))
        {
            // After the final flush (a drain that ran out of time): pass on rather than hold forever.
            await _next.ConsumeAsync(batch, cancellationToken);
            return;
        }

        Batch<T>? full = null;
        var sendToken = cancellationToken;
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_stopped)
            {
                // Shutdown flushed while this caller waited for the lock: pass it on below.
                full = batch;
                Interlocked.Increment(ref _sendsOutstanding);
            }
            else if (_pending is null)
            {
                _pending = batch;
                _pendingSince = DateTime.UtcNow;
                if (_firstItem.CurrentCount == 0)
                {
                    _firstItem.Release();
                }
            }
            else
            {
                // Still-encoded batches merge by concatenating their requests: nothing is decoded.
                if (!_pending.TryAppendEncoded(batch))
                {
                    _pending.Resources.AddRange(batch.Resources);
                }

                _pending.ItemCount += batch.ItemCount;
                _pending.ByteSize += batch.ByteSize;
                _pending.TakeAcks(batch);
            }

            if (full is null && _config.SendBatchSize > 0 && _pending!.ItemCount >= _config.SendBatchSize)
            {
                _sizeTriggers.Increment();
                full = TakePending();

                // The full batch carries other requests' items: this caller's cancellation must not fail them.
                sendToken = CancellationToken.None;
            }
        }
        finally
        {
            _lock.Release();
        }

        if (full is not null)
        {
            await SendAsync(full, sendToken);
        }
    }

    /// <summary>The pending batch, now owned by the caller, who must send it (null when none). Caller holds the lock.</summary>
    private Batch<T>? TakePending()
    {
        var pending = _pending;
        _pending = null;
        if (pending is not null)
        {
            Interlocked.Increment(ref _sendsOutstanding);
        }

        return pending;
    }

    /// <summary>Sends <paramref name="pending"/> in pieces of at most send_batch_max_size items, in one of the send slots.</summary>
    private async ValueTask SendAsync(Batch<T> pending, CancellationToken cancellationToken)
    {
        try
        {
            await SendInSlotAsync(pending, cancellationToken);
        }
        finally
        {
            if (Interlocked.Decrement(ref _sendsOutstanding) == 0 && Volatile.Read(ref _stopped))
            {
                _sendsDone.TrySetResult();
            }
        }
    }

    private async ValueTask SendInSlotAsync(Batch<T> pending, CancellationToken cancellationToken)
    {
        if (pending.ItemCount == 0)
        {
            pending.CompleteAcks();
            return;
        }

        await _sendSlots.WaitAsync(CancellationToken.None);
        try
        {
            var max = _config.SendBatchMaxSize;
            while (max > 0 && pending.ItemCount > max)
            {
                var part = SignalOps<T>.Instance.SplitOff(pending.Resources, max, out var moved);

                // Each piece carries its share of the bytes (the exporter queue may be sized in bytes).
                var pieceBytes = Batch<T>.ByteShare(pending.ByteSize, moved, pending.ItemCount);
                pending.ItemCount -= moved;
                pending.ByteSize -= pieceBytes;
                var piece = new Batch<T>(part, moved, pieceBytes) { ReceivedAt = pending.ReceivedAt, Acks = pending.Acks is null ? null : [.. pending.Acks] };
                piece.AddAckHolders(1);
                await _next.ConsumeAsync(piece, cancellationToken);
            }

            await _next.ConsumeAsync(pending, cancellationToken);
        }
        catch (Exception)
        {
            // The merged requests' acks live on this batch now, not on the caller's: fail them here.
            pending.FailAcks("internal error");
            throw;
        }
        finally
        {
            _sendSlots.Release();
        }
    }

    private async Task TimerLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _firstItem.WaitAsync(token);
                await SendWhenDueAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Shutdown: the final flush happens in ShutdownAsync.
            }
            catch (Exception e)
            {
                // A downstream bug is counted where it happened (its acks failed); timeout sends go on.
                _logger.Error(e, "Batch timeout send failed");
            }
        }
    }

    /// <summary>Waits until the pending batch is due, then sends it; returns early when a size-triggered send took it.</summary>
    private async Task SendWhenDueAsync(CancellationToken token)
    {
        while (true)
        {
            TimeSpan wait;
            Batch<T>? due = null;
            await _lock.WaitAsync(token);
            try
            {
                if (_pending is null)
                {
                    return;
                }

                wait = _pendingSince + _config.Timeout - DateTime.UtcNow;
                if (wait <= TimeSpan.Zero)
                {
                    _timeoutTriggers.Increment();
                    due = TakePending();
                }
            }
            finally
            {
                _lock.Release();
            }

            if (due is not null)
            {
                // Not the stop token: shutdown must not abort a send already under way.
                await SendAsync(due, CancellationToken.None);
                return;
            }

            await Task.Delay(wait, token);
        }
    }

    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        if (_stopped)
        {
            return;
        }

        await _stop.CancelAsync();
        await _timerLoop;

        // The lock is held only briefly; the final flush must run even when the budget is spent.
        Batch<T>? last;
        await _lock.WaitAsync(CancellationToken.None);
        try
        {
            Volatile.Write(ref _stopped, true);
            last = TakePending();
        }
        finally
        {
            _lock.Release();
        }

        if (last is not null)
        {
            await SendAsync(last, cancellationToken);
        }

        // Batches other callers took before the stop are handed on before this component counts as stopped.
        if (Volatile.Read(ref _sendsOutstanding) > 0)
        {
            await _sendsDone.Task;
        }
    }
}
