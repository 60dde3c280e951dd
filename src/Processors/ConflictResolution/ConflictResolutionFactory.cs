using Collector.Pipeline;
using Collector.Pipeline.Telemetry;

namespace Collector.Processors.ConflictResolution;

internal sealed class ConflictResolutionFactory : ProcessorFactory<ConflictResolutionConfig>
{
    public ConflictResolutionFactory()
        : base("conflict_resolution", () => new ConflictResolutionConfig())
    {
        WithTraces((context, config, next) => new ConflictResolutionProcessor(context, config, next), Stability.Alpha);
        Registers(
            new MetricInfo("collector_processor_conflict_resolution_conflicts_total", MetricType.Counter, "{keys}", "GenAI keys that disagreed about one concept and were resolved by `prefer`.", "processor", "concept"),
            new MetricInfo("collector_processor_conflict_resolution_skipped_values_total", MetricType.Counter, "{values}", "GenAI attribute values that could not be interpreted (wrong type, not a number, not a message list) and were left as they are.", "processor", "concept"));
    }
}
