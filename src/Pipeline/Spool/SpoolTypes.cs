namespace Collector.Pipeline.Spool;

/// <summary>What the spool does when a new batch does not fit under <c>max_size_mib</c>.</summary>
internal enum SpoolFullPolicy
{
    /// <summary>Refuse the new batch (the caller applies backpressure: 503 / UNAVAILABLE).</summary>
    Reject,

    /// <summary>Delete the oldest batches that are not leased until the new one fits; dropped items are counted.</summary>
    DropOldest,
}

internal enum SpoolAppendStatus
{
    /// <summary>Committed to disk (survives a process kill).</summary>
    Appended,

    /// <summary>Committed to disk after dropping the oldest batches to make room (<see cref="SpoolAppendResult.DroppedItems"/>).</summary>
    DroppedOldest,

    /// <summary>No room and the policy is reject, or every batch that could be dropped is leased.</summary>
    Full,

    /// <summary>The payload alone exceeds <see cref="DiskSpool.MaxPayloadBytes"/>; it can never be spooled whole (split it or drop it).</summary>
    TooLarge,

    /// <summary>Disk or database error (disk full, permission, I/O, spool unavailable); counted and logged by the spool.</summary>
    Failed,
}

/// <summary>Outcome of one append. <see cref="Id"/> is set when <see cref="IsStored"/>.</summary>
internal readonly record struct SpoolAppendResult(
    SpoolAppendStatus Status,
    long Id = 0,
    long DroppedItems = 0,
    int DroppedBatches = 0,
    string? Error = null)
{
    public bool IsStored => Status is SpoolAppendStatus.Appended or SpoolAppendStatus.DroppedOldest;
}

/// <summary>One spooled batch as handed out by a lease.</summary>
internal sealed record SpoolEntry(long Id, Signal Signal, byte[] Payload, int ItemCount, DateTimeOffset CreatedAt);

/// <summary>
/// A spool that must be durable (<c>on_unavailable: fail</c>) cannot be opened at start. The message is
/// one line naming the config key and the cause; the collector reports it and exits.
/// </summary>
internal sealed class SpoolUnavailableException(string message) : Exception(message);
