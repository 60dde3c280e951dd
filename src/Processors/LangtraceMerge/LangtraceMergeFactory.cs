using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.LangtraceMerge;

/// <summary>Called once per pipeline; every call for one component id shares one <see cref="MergeState"/>.</summary>
internal sealed class LangtraceMergeFactory : ProcessorFactory<LangtraceMergeConfig>
{
    private const string Prefix = "collector_processor_langtrace_merge_";

    public LangtraceMergeFactory()
        : base("langtrace_merge", () => new LangtraceMergeConfig())
    {
        WithTraces(Create, Stability.Alpha);
        WithLogs(Create, Stability.Alpha);
        Registers(
            new MetricInfo(Prefix + "early_flushes_total", MetricType.Counter, "{traces}", "Traces flushed before their wait ran out because a limit was reached.", "processor", "reason"),
            new MetricInfo(Prefix + "events_total", MetricType.Counter, "{events}", "AI events (log records) by what the merge did with them.", "processor", "outcome"),
            new MetricInfo(Prefix + "bad_input_total", MetricType.Counter, "{items}", "Malformed items handled without merging them, by reason.", "processor", "reason"),
            new MetricInfo(Prefix + "dual_link_merged_total", MetricType.Counter, "{spans}", "Spans dropped because another span of the trace recorded the same LLM call (merged into it).", "processor"),
            new MetricInfo(Prefix + "conflicts_total", MetricType.Counter, "{attributes}", "Attributes both an event and its span carried with different values, resolved by conflict_resolution.", "processor"),
            new MetricInfo(Prefix + "flush_failed_spans_total", MetricType.Counter, "{spans}", "Spans lost because the next consumer failed while a trace was flushed.", "processor"),
            new MetricInfo(Prefix + "flush_failed_log_records_total", MetricType.Counter, "{log_records}", "Log records lost because the next consumer failed while a trace was flushed.", "processor"),
            new MetricInfo(Prefix + "processing_failures_total", MetricType.Counter, "{traces}", "Traces passed on unmerged (or, for a held span that failed to decode, without that span) because processing them failed unexpectedly.", "processor"),
            new MetricInfo(Prefix + "buffered_traces", MetricType.Gauge, "{traces}", "Traces held in the merge buffer.", "processor"),
            new MetricInfo(Prefix + "buffered_spans", MetricType.Gauge, "{spans}", "Spans held in the merge buffer.", "processor"),
            new MetricInfo(Prefix + "buffered_events", MetricType.Gauge, "{events}", "AI events (log records) held in the merge buffer.", "processor"));
    }

    private static IProcessor<T> Create<T>(ComponentContext context, LangtraceMergeConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var state = context.Shared.GetOrAdd(context.Id, () => new MergeState(context, config));
        return new LangtraceMergeProcessor<T>(state, state.AddPort(next));
    }
}
