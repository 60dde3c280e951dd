using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.MemoryLimiter;

/// <summary>One memory gauge per component id, shared by every pipeline that lists it.</summary>
internal sealed class MemoryLimiterFactory() : EverySignalProcessorFactory<MemoryLimiterConfig>(
    "memory_limiter",
    () => new(),
    Stability.Beta,
    Create,
    Create,
    Create,
    new MetricInfo("collector_processor_memory_limiter_refused_requests_total", MetricType.Counter, "{requests}", "Requests refused because memory use was above the soft limit.", "processor"),
    new MetricInfo("collector_processor_memory_limiter_forced_gc_total", MetricType.Counter, "{collections}", "Garbage collections forced above the hard limit.", "processor"),
    new MetricInfo("collector_process_memory_used_bytes", MetricType.Gauge, "By", "Managed memory in use as seen by the memory limiter.", "processor"))
{
    private static IProcessor<T> Create<T>(ComponentContext context, MemoryLimiterConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var gauge = context.Shared.GetOrAdd(context.Id, () => new MemoryGauge(context, config, MemoryGauge.ManagedHeapBytes));
        return new MemoryLimiterProcessor<T>(gauge, next);
    }
}
