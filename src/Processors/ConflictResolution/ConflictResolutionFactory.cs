using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.ConflictResolution;

internal sealed class ConflictResolutionFactory : IProcessorFactory
{
    public string Type => "conflict_resolution";

    public ComponentKind Kind => ComponentKind.Processor;

    public ComponentConfig CreateDefaultConfig() => new ConflictResolutionConfig();

    public bool Supports(Signal signal) => signal == Signal.Traces;

    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        if (next is not IConsumer<ResourceSpans> spans)
        {
            throw new NotSupportedException("conflict_resolution supports traces pipelines only");
        }

        return (IProcessor<T>)(object)new ConflictResolutionProcessor(context, (ConflictResolutionConfig)config, spans);
    }
}
