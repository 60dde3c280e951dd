using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.Dedup;

internal sealed class DedupFactory : IProcessorFactory
{
    public string Type => "dedup";

    public ComponentKind Kind => ComponentKind.Processor;

    public ComponentConfig CreateDefaultConfig() => new DedupConfig();

    public bool Supports(Signal signal) => signal is Signal.Traces or Signal.Logs;

    /// <summary>One table per pipeline instance: span and log identities never meet.</summary>
    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T> =>
        Create(context, (DedupConfig)config, next, TimeProvider.System);

    internal static IProcessor<T> Create<T>(ComponentContext context, DedupConfig config, IConsumer<T> next, TimeProvider time)
        where T : class, IMessage<T>
    {
        object processor = next switch
        {
            IConsumer<ResourceSpans> spans => new SpanDedupProcessor(context, config, spans, time),
            IConsumer<ResourceLogs> logs => new LogDedupProcessor(context, config, logs, time),
            _ => throw new NotSupportedException("dedup supports traces and logs pipelines only"),
        };
        return (IProcessor<T>)processor;
    }
}
