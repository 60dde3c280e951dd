using Collector.Pipeline.Secrets;
using Google.Protobuf;

namespace Collector.Pipeline.Export;

public enum ExportOutcome
{
    Success,

    /// <summary>Worth another attempt (throttled, unavailable, timed out).</summary>
    Retryable,

    /// <summary>Never retried: bad data or rejected credentials. Dropped, logged once per cause, counted.</summary>
    Permanent,
}

/// <summary>What one send attempt to a backend came to.</summary>
public readonly record struct ExportResult(ExportOutcome Outcome, string? Error = null, TimeSpan? RetryAfter = null, long RejectedItems = 0)
{
    /// <summary>
    /// Logged and compared by the exporter helper, so it passes <see cref="LogText.Scrub"/> here, the
    /// one door every exporter's error goes through: secrets a backend echoed are masked and the
    /// text is cut to <see cref="LogText.MaxChars"/>.
    /// </summary>
    public string? Error { get; init; } = LogText.Scrub(Error);

    public static ExportResult Success => new(ExportOutcome.Success);

    public static ExportResult Retryable(string error, TimeSpan? retryAfter = null) => new(ExportOutcome.Retryable, error, retryAfter);

    public static ExportResult Permanent(string error) => new(ExportOutcome.Permanent, error);

    /// <summary>Accepted, but the backend rejected part of it (partial_success): that part is permanent.</summary>
    public static ExportResult Partial(long rejectedItems, string error) => new(ExportOutcome.Success, error, null, rejectedItems);

    /// <summary>
    /// Retryable now, but a batch that still fails when retries run out is dropped as poison
    /// (counted reason="poison", logged with <paramref name="poisonDetail"/>) instead of being kept
    /// for later: for backends whose error cannot tell a transient failure from one the payload
    /// causes, so that one bad batch never blocks the batches behind it.
    /// </summary>
    public static ExportResult RetryableOrPoison(string error, string poisonDetail, TimeSpan? retryAfter = null) =>
        new(ExportOutcome.Retryable, error, retryAfter) { PoisonDetail = poisonDetail };

    /// <summary>Set by <see cref="RetryableOrPoison"/>: what identifies the batch in the poison log line (e.g. its trace ids).</summary>
    public string? PoisonDetail { get; init; }
}

/// <summary>
/// The backend-specific part of an exporter: one attempt to deliver one batch. Retry, timeout,
/// queueing and spooling are the exporter helper's job, not the sender's.
/// </summary>
public interface IExportSender<T>
    where T : class, IMessage<T>
{
    Task<ExportResult> SendAsync(Batch<T> batch, CancellationToken cancellationToken);
}
