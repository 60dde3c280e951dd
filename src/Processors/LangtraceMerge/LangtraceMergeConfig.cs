using Collector.Pipeline.Configuration;

namespace Collector.Processors.LangtraceMerge;

/// <summary>Which value wins when a merged event and its span disagree about one attribute.</summary>
public enum ConflictPreference
{
    PreferSpan,
    PreferEvent,
}

/// <summary>What makes a later event a duplicate of an earlier one (besides trace, span, name and time).</summary>
public enum DuplicateMatch
{
    /// <summary>Same body and same attributes too: stream chunks, parallel tool calls and the several messages of one prompt stay.</summary>
    Content,

    /// <summary>Name and time alone, the reference design read literally: any same-named event within the window is dropped.</summary>
    Name,
}

public sealed class LangtraceMergeConfig : ComponentConfig
{
    /// <summary>A trace is flushed this long after its last item arrived.</summary>
    public TimeSpan Wait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Traces held at once; a new trace beyond it flushes the least recently fed trace early.</summary>
    public int MaxTraces { get; set; } = 10_000;

    /// <summary>Spans held per trace; reaching it flushes that trace early.</summary>
    public int MaxSpansPerTrace { get; set; } = 1000;

    /// <summary>AI events (log records) held per trace; reaching it flushes that trace early.</summary>
    public int MaxEventsPerTrace { get; set; } = 1000;

    /// <summary>Two same-named events of one span closer than this are duplicates (the later is dropped).</summary>
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Whether a duplicate must also have the same body and attributes.</summary>
    public DuplicateMatch DuplicateMatch { get; set; } = DuplicateMatch.Content;

    /// <summary>Share of the shorter span's duration two spans must overlap to be one LLM call.</summary>
    public double OverlapRatio { get; set; } = 0.8;

    /// <summary>Semantic-overlap merge: which side keeps a key both carry with different values.</summary>
    public ConflictPreference ConflictResolution { get; set; } = ConflictPreference.PreferSpan;

    internal static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);

    public override void Validate(ConfigErrors errors)
    {
        if (Wait <= TimeSpan.Zero || Wait > MaxWait)
        {
            errors.Add("wait", "must be > 0 and <= 10m");
        }

        if (MaxTraces < 1)
        {
            errors.Add("max_traces", "must be >= 1");
        }

        if (MaxSpansPerTrace < 1)
        {
            errors.Add("max_spans_per_trace", "must be >= 1");
        }

        if (MaxEventsPerTrace < 1)
        {
            errors.Add("max_events_per_trace", "must be >= 1");
        }

        if (DuplicateWindow < TimeSpan.Zero || DuplicateWindow > MaxWait)
        {
            errors.Add("duplicate_window", "must be >= 0 and <= 10m");
        }

        if (!Enum.IsDefined(DuplicateMatch))
        {
            errors.Add("duplicate_match", "must be content or name");
        }

        if (!(OverlapRatio > 0 && OverlapRatio <= 1))
        {
            errors.Add("overlap_ratio", "must be > 0 and <= 1");
        }

        if (!Enum.IsDefined(ConflictResolution))
        {
            errors.Add("conflict_resolution", "must be prefer_span or prefer_event");
        }
    }
}
