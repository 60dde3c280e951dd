using Collector.Pipeline.Telemetry;

namespace Collector.Processors.LangtraceMerge;

/// <summary>The self-metrics of one langtrace_merge instance (label processor=&lt;id&gt;).</summary>
internal sealed class MergeMetrics
{
    private const string Prefix = "collector_processor_langtrace_merge_";

    public MergeMetrics(SelfMetrics metrics, string processor)
    {
        var id = ("processor", processor);
        Counter Early(string reason) => metrics.Counter(Prefix + "early_flushes_total", "Traces flushed before their wait ran out because a limit was reached.", id, ("reason", reason));
        Counter Event(string outcome) => metrics.Counter(Prefix + "events_total", "AI events (log records) by what the merge did with them.", id, ("outcome", outcome));
        Counter Bad(string reason) => metrics.Counter(Prefix + "bad_input_total", "Malformed items handled without merging them, by reason.", id, ("reason", reason));

        EarlyMaxTraces = Early("max_traces");
        EarlyMaxSpans = Early("max_spans_per_trace");
        EarlyMaxEvents = Early("max_events_per_trace");
        EventsDuplicate = Event("duplicate");
        EventsSemantic = Event("semantic");
        EventsSpanEvent = Event("span_event");
        EventsOrphan = Event("orphan");
        DualLinkMerged = metrics.Counter(Prefix + "dual_link_merged_total", "Spans dropped because another span of the trace recorded the same LLM call (merged into it).", id);
        Conflicts = metrics.Counter(Prefix + "conflicts_total", "Attributes both an event and its span carried with different values, resolved by conflict_resolution.", id);
        BadInvalidId = Bad("invalid_id");
        BadWrongType = Bad("wrong_type");
        BadParentCycle = Bad("parent_cycle");
        BadSelfParent = Bad("self_parent");
        BadTimeRange = Bad("time_range");
        FlushFailedSpans = metrics.Counter(Prefix + "flush_failed_spans_total", "Spans lost because the next consumer failed while a trace was flushed.", id);
        FlushFailedLogRecords = metrics.Counter(Prefix + "flush_failed_log_records_total", "Log records lost because the next consumer failed while a trace was flushed.", id);
        ProcessingFailures = metrics.Counter(Prefix + "processing_failures_total", "Traces passed on unmerged (or, for a held span that failed to decode, without that span) because processing them failed unexpectedly.", id);
    }

    public Counter EarlyMaxTraces { get; }

    public Counter EarlyMaxSpans { get; }

    public Counter EarlyMaxEvents { get; }

    public Counter EventsDuplicate { get; }

    public Counter EventsSemantic { get; }

    public Counter EventsSpanEvent { get; }

    public Counter EventsOrphan { get; }

    public Counter DualLinkMerged { get; }

    public Counter Conflicts { get; }

    /// <summary>Spans whose trace or span id is missing or malformed: passed on unbuffered.</summary>
    public Counter BadInvalidId { get; }

    /// <summary>Attributes the merge reads (event.name, langtrace.service.type) with a value of the wrong type.</summary>
    public Counter BadWrongType { get; }

    /// <summary>Parent cycles of two or more spans (spans on them are never dual-link merged).</summary>
    public Counter BadParentCycle { get; }

    /// <summary>Spans whose parent id is their own id.</summary>
    public Counter BadSelfParent { get; }

    /// <summary>Spans that end before they start (treated as instants at their start).</summary>
    public Counter BadTimeRange { get; }

    public Counter FlushFailedSpans { get; }

    public Counter FlushFailedLogRecords { get; }

    public Counter ProcessingFailures { get; }
}
