using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Processors.MemoryLimiter;

internal sealed class MemoryLimiterFactory : IProcessorFactory
{
    public string Type => "memory_limiter";

    public ComponentKind Kind => ComponentKind.Processor;

    public ComponentConfig CreateDefaultConfig() => new MemoryLimiterConfig();

    public bool Supports(Signal signal) => true;

    /// <summary>One memory gauge per component id, shared by every pipeline that lists it.</summary>
    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var gauge = context.Shared.GetOrAdd(context.Id, () => new MemoryGauge(context, (MemoryLimiterConfig)config, MemoryGauge.ManagedHeapBytes));
        return new MemoryLimiterProcessor<T>(gauge, next);
    }
}
