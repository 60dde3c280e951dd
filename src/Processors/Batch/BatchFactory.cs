using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Processors.Batch;

internal sealed class BatchFactory : IProcessorFactory
{
    public string Type => "batch";

    public ComponentKind Kind => ComponentKind.Processor;

    public ComponentConfig CreateDefaultConfig() => new BatchConfig();

    public bool Supports(Signal signal) => true;

    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T> =>
        new BatchProcessor<T>(context, (BatchConfig)config, next);
}
