using Collector.Pipeline.Configuration;
using Collector.Pipeline.Spool;

namespace Collector.Pipeline.Export;

/// <summary>
/// Keys every exporter behind the exporter helper shares (timeout, retry_on_failure,
/// sending_queue), so that each exporter's config only adds its own backend keys.
/// </summary>
public abstract class ExporterConfigBase : ComponentConfig
{
    /// <summary>timeout: budget of one send attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    public RetryOnFailureConfig RetryOnFailure { get; set; } = new();

    public SendingQueueConfig SendingQueue { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        if (Timeout <= TimeSpan.Zero)
        {
            errors.Add("timeout", "must be positive");
        }

        // Only here are both known: unset max_attempts means "no limit" exactly when there is no spool.
        if (RetryOnFailure.Enabled && RetryOnFailure.MaxAttempts is null && RetryOnFailure.MaxElapsedTime == TimeSpan.Zero
            && (!SendingQueue.Enabled || SendingQueue.Spool is null))
        {
            errors.Add("retry_on_failure", "max_elapsed_time is 0 and max_attempts is unset without a spool: a failing batch would be retried forever; set one of them");
        }
    }
}

/// <summary>retry_on_failure: exponential backoff with jitter for retryable failures.</summary>
public sealed class RetryOnFailureConfig : IValidatable
{
    public bool Enabled { get; set; } = true;

    public TimeSpan InitialInterval { get; set; } = TimeSpan.FromSeconds(1);

    public double Multiplier { get; set; } = 2;

    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// What an unset <see cref="MaxAttempts"/> means with a spool behind the queue: in-memory attempts
    /// before the batch waits in the spool (replayed later), so that a down backend does not hold
    /// the consumers for <see cref="MaxElapsedTime"/>.
    /// </summary>
    public const int DefaultAttemptsBeforeSpool = 3;

    /// <summary>
    /// Attempts in total, the first included; 0 = no limit but <see cref="MaxElapsedTime"/>. Unset
    /// (null): no limit but <see cref="MaxElapsedTime"/> without a spool, since there giving up means
    /// dropping; <see cref="DefaultAttemptsBeforeSpool"/> with a spool. An explicit value bounds
    /// attempts either way (without a spool the batch is then dropped as retries_exhausted). A
    /// retryable-or-poison result (<see cref="ExportResult.RetryableOrPoison"/>) is bounded by the
    /// spool default when unset, with or without a spool.
    /// </summary>
    public int? MaxAttempts { get; set; }

    /// <summary>No retry starts after this much time since the first attempt (as the OpenTelemetry Collector's configretry); 0 = no limit but <see cref="MaxAttempts"/>.</summary>
    public TimeSpan MaxElapsedTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Each backoff is scaled by a random factor in [1 - f, 1 + f] so that exporters do not retry in lockstep.</summary>
    public double RandomizationFactor { get; set; } = 0.5;

    /// <summary>The attempt limit in force (0 = none but <see cref="MaxElapsedTime"/>); <paramref name="spoolBehind"/>: the exporter has a spool to keep what retrying gave up on.</summary>
    public int AttemptLimit(bool spoolBehind) => MaxAttempts ?? (spoolBehind ? DefaultAttemptsBeforeSpool : 0);

    public void Validate(ConfigErrors errors)
    {
        if (InitialInterval <= TimeSpan.Zero)
        {
            errors.Add("initial_interval", "must be positive");
        }

        if (MaxInterval <= TimeSpan.Zero)
        {
            errors.Add("max_interval", "must be positive");
        }
        else if (MaxInterval < InitialInterval)
        {
            errors.Add("max_interval", "must not be less than initial_interval");
        }

        if (!(Multiplier >= 1) || double.IsInfinity(Multiplier))
        {
            errors.Add("multiplier", "must be a finite number >= 1");
        }

        if (MaxAttempts < 0)
        {
            errors.Add("max_attempts", "must be >= 0 (0 = bounded by max_elapsed_time only)");
        }

        if (MaxElapsedTime < TimeSpan.Zero)
        {
            errors.Add("max_elapsed_time", "must not be negative");
        }

        if (Enabled && MaxAttempts == 0 && MaxElapsedTime == TimeSpan.Zero)
        {
            errors.Add("max_attempts and max_elapsed_time are both 0: a failing batch would be retried forever");
        }

        if (!(RandomizationFactor is >= 0 and <= 1))
        {
            errors.Add("randomization_factor", "must be between 0 and 1");
        }
    }
}

/// <summary>sending_queue: the bounded in-memory queue in front of the sender.</summary>
public sealed class SendingQueueConfig : IValidatable
{
    /// <summary>False: batches are sent in the caller (with retry), nothing is queued.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Least <see cref="QueueSize"/> with <c>sizer: bytes</c>: below it a value was most likely meant in another unit (MiB, batches).</summary>
    public const long MinQueueBytes = 1 << 20;

    /// <summary>What <see cref="QueueSize"/> counts (as the OpenTelemetry Collector's sending_queue.sizer).</summary>
    public QueueSizer Sizer { get; set; } = QueueSizer.Requests;

    /// <summary>
    /// Bound on what waits in the queue, in the unit of <see cref="Sizer"/> (batches, items or bytes);
    /// when full, further batches are spilled to the spool or dropped and counted (queue_full).
    /// </summary>
    public long QueueSize { get; set; } = 1000;

    /// <summary>Batches sent concurrently.</summary>
    public int NumConsumers { get; set; } = 4;

    /// <summary>
    /// What a full queue does: <see cref="QueueOnFull.Reject"/> refuses at the pipeline door (the client
    /// retries) and never drops what was admitted; <see cref="QueueOnFull.Drop"/> drops and counts (queue_full).
    /// With a spool, overflow goes to the spool first either way.
    /// </summary>
    public QueueOnFull OnFull { get; set; } = QueueOnFull.Reject;

    /// <summary>Disk spool behind the queue; null keeps the queue in memory only.</summary>
    public SpoolConfig? Spool { get; set; }

    public void Validate(ConfigErrors errors)
    {
        if (!Enum.IsDefined(Sizer))
        {
            errors.Add("sizer", "must be requests, items or bytes");
        }

        if (QueueSize < 1)
        {
            errors.Add("queue_size", "must be >= 1");
        }
        else if (Sizer == QueueSizer.Requests && QueueSize > int.MaxValue)
        {
            errors.Add("queue_size", $"must be <= {int.MaxValue} batches with sizer: requests");
        }
        else if (Sizer == QueueSizer.Bytes && QueueSize < MinQueueBytes)
        {
            errors.Add("queue_size", $"is in bytes with sizer: bytes and must be >= {MinQueueBytes} (1 MiB), e.g. 268435456 for 256 MiB");
        }

        if (NumConsumers < 1)
        {
            errors.Add("num_consumers", "must be >= 1");
        }

        if (!Enum.IsDefined(OnFull))
        {
            errors.Add("on_full", "must be reject or drop");
        }

        if (Spool is not null && !Enabled)
        {
            errors.Add("spool", "needs sending_queue.enabled: true");
        }
    }
}

/// <summary>
/// The settings of one SQLite spool file (see Spool/README.md): an exporter's <c>sending_queue.spool</c>
/// and a durable pipeline door's log (<c>service.pipelines.&lt;id&gt;.durability</c>) share them.
/// </summary>
public abstract class SpoolStorageConfig : IValidatable, IEnvironmentValidatable
{
    public string Directory { get; set; } = string.Empty;

    /// <summary>Bound on database + WAL bytes; never exceeded.</summary>
    public int MaxSizeMib { get; set; } = 50;

    public SpoolOnFull OnFull { get; set; } = SpoolOnFull.Reject;

    /// <summary>What happens when the spool cannot be created, opened or written at start.</summary>
    public SpoolOnUnavailable OnUnavailable { get; set; } = SpoolOnUnavailable.Fail;

    /// <summary>The cap in bytes.</summary>
    internal long MaxBytes => (long)MaxSizeMib << 20;

    internal SpoolFullPolicy FullPolicy => OnFull == SpoolOnFull.DropOldest ? SpoolFullPolicy.DropOldest : SpoolFullPolicy.Reject;

    public virtual void Validate(ConfigErrors errors)
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            errors.Add("directory", "is required");
        }
        else if (Directory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add("directory", "is not a valid path");
        }

        if (MaxSizeMib < 1)
        {
            errors.Add("max_size_mib", "must be >= 1");
        }

        if (!Enum.IsDefined(OnFull))
        {
            errors.Add("on_full", "must be reject or drop_oldest");
        }

        if (!Enum.IsDefined(OnUnavailable))
        {
            errors.Add("on_unavailable", "must be fail or degrade");
        }
    }

    /// <summary>
    /// <c>collector validate</c>: with <c>on_unavailable: fail</c>, a directory that cannot hold the
    /// spool file of <paramref name="owner"/> is reported here as it would stop the start (see <see cref="SpoolLocation"/>).
    /// </summary>
    public void ValidateEnvironment(ComponentId owner, ConfigErrors errors)
    {
        if (OnUnavailable == SpoolOnUnavailable.Fail && !string.IsNullOrWhiteSpace(Directory)
            && SpoolLocation.Problem(Directory, SpoolFiles.FileNameFor(owner.ToString())) is { } problem)
        {
            errors.Add("directory", problem);
        }
    }
}

/// <summary>
/// sending_queue.spool: where batches wait on disk (SQLite, one database per exporter id). Used by
/// the exporter helper: every batch before its ack (write_ahead), or batches that could not be
/// queued or delivered (on_failure); see Export/README.md.
/// </summary>
public sealed class SpoolConfig : SpoolStorageConfig
{
    public SpoolDurability Durability { get; set; } = SpoolDurability.WriteAhead;

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        if (!Enum.IsDefined(Durability))
        {
            errors.Add("durability", "must be write_ahead or on_failure");
        }
    }
}

/// <summary>sending_queue.sizer; YAML names requests | items | bytes.</summary>
public enum QueueSizer
{
    /// <summary>queue_size counts batches (what the pipeline hands the exporter).</summary>
    Requests,

    /// <summary>queue_size counts spans, metric data points or log records.</summary>
    Items,

    /// <summary>queue_size counts bytes of encoded OTLP (<see cref="Batch{T}.ByteSize"/>).</summary>
    Bytes,
}

/// <summary>sending_queue.on_full; YAML names reject | drop.</summary>
public enum QueueOnFull
{
    /// <summary>
    /// While the queue is full (and no spool takes the overflow) the pipeline door refuses new requests
    /// (503 / UNAVAILABLE + Retry-After); a batch admitted before the queue filled is queued above queue_size.
    /// </summary>
    Reject,

    /// <summary>A batch that finds the queue full (and no spool taking it) is dropped and counted (queue_full).</summary>
    Drop,
}

/// <summary>spool.durability; YAML names write_ahead | on_failure.</summary>
public enum SpoolDurability
{
    /// <summary>Every batch is committed to the spool before the receiver acknowledges the client.</summary>
    WriteAhead,

    /// <summary>Batches go to the spool only when the queue is full or in-memory retries are exhausted.</summary>
    OnFailure,
}

/// <summary>spool.on_unavailable; YAML names fail | degrade.</summary>
public enum SpoolOnUnavailable
{
    /// <summary>A spool that cannot be created, opened or written at start stops the start (exit code 1, one line naming the key).</summary>
    Fail,

    /// <summary>Start without the spool: batches stay in memory (logged, counted) and the spool retries opening every 30 s.</summary>
    Degrade,
}

/// <summary>spool.on_full; YAML names reject | drop_oldest.</summary>
public enum SpoolOnFull
{
    /// <summary>Refuse new data (backpressure to the client).</summary>
    Reject,

    /// <summary>Delete the oldest spooled batches to make room (counted).</summary>
    DropOldest,
}
