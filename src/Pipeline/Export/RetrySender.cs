using System.Diagnostics;
using Collector.Pipeline.Telemetry;

namespace Collector.Pipeline.Export;

/// <summary>How a batch's send ended, after retries.</summary>
internal enum SendOutcome
{
    Delivered,

    /// <summary>The backend refused it for good (bad data, credentials).</summary>
    Permanent,

    /// <summary>Still failing when retries ran out (max_attempts / max_elapsed_time, or retry disabled).</summary>
    RetriesExhausted,

    /// <summary>Retries ran out for a batch the backend may refuse because of its payload (<see cref="ExportResult.PoisonDetail"/>): never kept for later.</summary>
    Poison,

    /// <summary>Shutdown: cancelled, or stopped retrying so that the batch goes to the spool.</summary>
    Stopped,
}

/// <summary>
/// Retries retryable results with exponential backoff and jitter (<c>retry_on_failure</c>). A
/// server-given delay (Retry-After, RetryInfo) replaces the backoff; either way no retry is started
/// that would end after <c>max_elapsed_time</c>. The attempt limit is
/// <see cref="RetryOnFailureConfig.AttemptLimit"/>: unset <c>max_attempts</c> bounds attempts only
/// when <paramref name="spoolBehind"/> (the spool keeps what retrying gives up on; without one,
/// giving up early would drop data in a short outage). <paramref name="stopRetrying"/> is asked
/// after each failure (at shutdown with a spool, the batch is parked rather than tried again).
/// </summary>
internal sealed class RetrySender<T>(IExportSender<T> next, RetryOnFailureConfig retry, Counter retries, Func<bool> stopRetrying, bool spoolBehind = false)
    where T : class, Google.Protobuf.IMessage<T>
{
    /// <summary>Delivers or gives up on the batch; never throws. Cancellation ends as <see cref="SendOutcome.Stopped"/>.</summary>
    public async Task<(SendOutcome Outcome, ExportResult Result)> SendAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            ExportResult result;
            try
            {
                result = await next.SendAsync(batch, cancellationToken);
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

            if (stopRetrying())
            {
                return (SendOutcome.Stopped, result);
            }

            if (!TryGetRetryDelay(attempt, result, Stopwatch.GetElapsedTime(started), out var delay))
            {
                return (result.PoisonDetail is null ? SendOutcome.RetriesExhausted : SendOutcome.Poison, result);
            }

            retries.Increment();
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

    /// <summary>The wait before the next attempt, or false when retrying must stop.</summary>
    private bool TryGetRetryDelay(int attempt, ExportResult result, TimeSpan elapsed, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        // A result that may be poison is bounded as with a spool even without one: retrying a payload
        // the backend may refuse for good until max_elapsed_time would only hold up the batches behind it.
        var maxAttempts = retry.AttemptLimit(spoolBehind || result.PoisonDetail is not null);
        if (!retry.Enabled || (maxAttempts > 0 && attempt >= maxAttempts))
        {
            return false;
        }

        delay = result.RetryAfter is { } serverDelay && serverDelay > TimeSpan.Zero ? serverDelay : Backoff(attempt);
        return retry.MaxElapsedTime <= TimeSpan.Zero || elapsed + delay <= retry.MaxElapsedTime;
    }

    /// <summary>initial_interval * multiplier^(n-1), capped at max_interval, scaled by a random factor in [1-r, 1+r].</summary>
    private TimeSpan Backoff(int retryNumber)
    {
        var ms = retry.InitialInterval.TotalMilliseconds * Math.Pow(retry.Multiplier, retryNumber - 1);
        ms = Math.Min(ms, retry.MaxInterval.TotalMilliseconds);
        var jitter = 1 + (retry.RandomizationFactor * ((2 * Random.Shared.NextDouble()) - 1));
        return TimeSpan.FromMilliseconds(ms * jitter);
    }
}
