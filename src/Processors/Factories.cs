using Collector.Pipeline;

namespace Collector.Processors;

/// <summary>Every processor factory of this assembly, for the collector's registry.</summary>
public static class ProcessorFactories
{
    public static IEnumerable<IComponentFactory> All() =>
    [
        new Batch.BatchFactory(),
        new MemoryLimiter.MemoryLimiterFactory(),
        new Dedup.DedupFactory(),
        new LangtraceMerge.LangtraceMergeFactory(),
        new ConflictResolution.ConflictResolutionFactory(),
        new Redaction.RedactionFactory(),
    ];
}
