using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Processors.Redaction;

internal sealed class RedactionFactory : IProcessorFactory
{
    public string Type => "redaction";

    public ComponentKind Kind => ComponentKind.Processor;

    public ComponentConfig CreateDefaultConfig() => new RedactionConfig();

    public bool Supports(Signal signal) => true;

    /// <summary>Rules are compiled once per component id and shared by every pipeline listing it.</summary>
    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var redactor = context.Shared.GetOrAdd(context.Id, () => new Redactor((RedactionConfig)config));
        return new RedactionProcessor<T>(redactor, new RedactionMetrics(context.Metrics, context.Id.ToString()), next);
    }
}
