using Collector.Pipeline;
using Collector.Receiver.Hosting;

namespace Collector.Receiver.Langtrace;

/// <summary>Type "langtrace": what Langtrace SDKs send to <c>/api/trace</c>, as OTLP spans. Traces only.</summary>
internal sealed class LangtraceReceiverFactory : ReceiverFactory<LangtraceReceiverConfig>
{
    public LangtraceReceiverFactory()
        : base("langtrace", () => new LangtraceReceiverConfig(), (context, config, targets) => new LangtraceReceiver(context, config, targets))
    {
        WithTraces(Stability.Alpha);
        Registers(ReceiverMetrics.All);
    }
}
