using Collector.Pipeline;
using Collector.Pipeline.Graph;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.MemoryLimiter;

/// <summary>One memory gate per component id, shared by every pipeline that lists it.</summary>
internal sealed class MemoryLimiterFactory() : EverySignalProcessorFactory<MemoryLimiterConfig>(
    "memory_limiter",
    () => new(),
    Stability.Beta,
    Create,
    Create,
    Create,
    new MetricInfo(RefusedRequests, MetricType.Counter, "{requests}", RefusedRequestsHelp, "processor"),
    new MetricInfo(ForcedGcs, MetricType.Counter, "{collections}", ForcedGcsHelp, "processor"),
    new MetricInfo(MemoryUsed, MetricType.Gauge, "By", MemoryUsedHelp, "processor"))
{
    private const string RefusedRequests = "collector_processor_memory_limiter_refused_requests_total";
    private const string RefusedRequestsHelp = "Requests refused because memory use was above the soft limit.";
    private const string ForcedGcs = "collector_processor_memory_limiter_forced_gc_total";
    private const string ForcedGcsHelp = "Garbage collections forced above the hard limit.";
    private const string MemoryUsed = "collector_process_memory_used_bytes";
    private const string MemoryUsedHelp = "Managed memory in use as seen by the memory limiter.";

    /// <summary>The gate of one memory_limiter id, its counters labelled with the id; logs the limits it applies.</summary>
    internal static MemoryGate CreateGate(ComponentContext context, MemoryLimiterConfig config, MemoryBudget budget, Func<long> readUsedBytes)
    {
        var label = ("processor", context.Id.ToString());
        var gate = new MemoryGate(
            config,
            budget,
            readUsedBytes,
            context.Metrics.Counter(RefusedRequests, RefusedRequestsHelp, label),
            context.Metrics.Counter(ForcedGcs, ForcedGcsHelp, label),
            context.Logger,
            "memory limit exceeded");
        context.Metrics.Gauge(MemoryUsed, MemoryUsedHelp, () => readUsedBytes(), label);
        context.Logger.Information("Memory limiter {Processor} {Limits}", context.Id.ToString(), gate.Description);
        return gate;
    }

    private static IProcessor<T> Create<T>(ComponentContext context, MemoryLimiterConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var gate = context.Shared.GetOrAdd(context.Id, () => CreateGate(context, config, MemoryBudget.OfThisProcess(), MemoryGate.ManagedHeapBytes));
        return new MemoryLimiterProcessor<T>(gate, next);
    }
}
