using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector.Receiver.Langtrace;

/// <summary>Type "langtrace": what Langtrace SDKs send to <c>/api/trace</c>, as OTLP spans. Traces only.</summary>
internal sealed class LangtraceReceiverFactory : IReceiverFactory
{
    public string Type => "langtrace";

    public ComponentKind Kind => ComponentKind.Receiver;

    public ComponentConfig CreateDefaultConfig() => new LangtraceReceiverConfig();

    public bool Supports(Signal signal) => signal == Signal.Traces;

    public IReceiver CreateReceiver(ComponentContext context, ComponentConfig config, ReceiverTargets targets) =>
        new LangtraceReceiver(context, (LangtraceReceiverConfig)config, targets);
}
