namespace Collector.Pipeline.Export;

/// <summary>
/// Tells a helper's consumers when leasing from the spool is worth it: only while the spool may hold
/// unleased batches of their signal (a hint raised by every release or unleased append, cleared by a
/// lease that found nothing), and not while backing off after the backend failed a batch (so a down
/// backend is probed at a growing interval, never in a busy loop). A delivery that succeeds ends the
/// backoff at once: the backend is back. Waiters are woken when either changes.
/// </summary>
internal sealed class ReplayGate
{
    private readonly Lock _lock = new();
    private readonly TimeSpan _initialBackoff;
    private readonly TimeSpan _maxBackoff;

    /// <summary>Raised whenever replayable batches may have appeared; starts raised so that a start replays.</summary>
    private long _epoch = 1;

    /// <summary>The epoch that was read before a lease found nothing.</summary>
    private long _emptyAt;

    private long _notBeforeMs;
    private TimeSpan _backoff;
    private TaskCompletionSource _pulse = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReplayGate(TimeSpan initialBackoff, TimeSpan maxBackoff)
    {
        _initialBackoff = initialBackoff;
        _maxBackoff = maxBackoff;
        _backoff = initialBackoff;
    }

    /// <summary>Completes at the next change; take it before checking <see cref="IsOpen"/> so that no change is missed.</summary>
    public Task Changed => Volatile.Read(ref _pulse).Task;

    public bool MayHaveWork => Volatile.Read(ref _epoch) != Volatile.Read(ref _emptyAt);

    /// <summary>Time left of the backoff; zero when none.</summary>
    public TimeSpan BackoffRemaining
    {
        get
        {
            var left = Volatile.Read(ref _notBeforeMs) - Environment.TickCount64;
            return left > 0 ? TimeSpan.FromMilliseconds(left) : TimeSpan.Zero;
        }
    }

    /// <summary>True when a lease should be tried now; <paramref name="epoch"/> goes to <see cref="FoundEmpty"/> if it finds nothing.</summary>
    public bool IsOpen(out long epoch)
    {
        epoch = Volatile.Read(ref _epoch);
        return epoch != Volatile.Read(ref _emptyAt) && Environment.TickCount64 >= Volatile.Read(ref _notBeforeMs);
    }

    public void FoundEmpty(long epoch) => Volatile.Write(ref _emptyAt, epoch);

    /// <summary>A batch became leasable (released, or appended without a lease).</summary>
    public void Raise()
    {
        Interlocked.Increment(ref _epoch);
        Pulse();
    }

    /// <summary>The backend failed a batch after its in-memory retries (or the spool could not be read): wait before replaying, longer each time.</summary>
    public void BackOff()
    {
        lock (_lock)
        {
            Volatile.Write(ref _notBeforeMs, Environment.TickCount64 + (long)_backoff.TotalMilliseconds);
            _backoff = _backoff * 2 < _maxBackoff ? _backoff * 2 : _maxBackoff;
        }
    }

    /// <summary>The backend took a batch: replay may go on at full speed.</summary>
    public void Resume()
    {
        if (Volatile.Read(ref _notBeforeMs) == 0)
        {
            return;
        }

        lock (_lock)
        {
            Volatile.Write(ref _notBeforeMs, 0);
            _backoff = _initialBackoff;
        }

        Pulse();
    }

    private void Pulse() => Interlocked.Exchange(ref _pulse, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
