using Collector.Pipeline;

namespace Collector.Receiver;

/// <summary>Every receiver factory of this assembly, for the collector's registry.</summary>
public static class ReceiverFactories
{
    public static IEnumerable<IComponentFactory> All() =>
    [
        new Otlp.OtlpReceiverFactory(),
        new Langtrace.LangtraceReceiverFactory(),
    ];
}
