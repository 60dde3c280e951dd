using Collector.Pipeline.Configuration;

namespace Collector.Processors.Dedup;

public sealed class DedupConfig : ComponentConfig
{
    /// <summary>Largest accepted max_entries: 2^26 entries is about 1.7 GiB of table.</summary>
    public const int MaxEntriesLimit = 1 << 26;

    /// <summary>How long an identity is remembered after it was first seen.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most identities remembered per pipeline; the oldest is evicted (and counted) to make room.</summary>
    public int MaxEntries { get; set; } = 100_000;

    public override void Validate(ConfigErrors errors)
    {
        if (Window <= TimeSpan.Zero)
        {
            errors.Add("window", "must be > 0");
        }

        if (MaxEntries is < 1 or > MaxEntriesLimit)
        {
            errors.Add("max_entries", $"must be in 1..{MaxEntriesLimit}");
        }
    }
}
