using Collector.Pipeline;
using Collector.Receiver.Hosting;

namespace Collector.Receiver.Otlp;

/// <summary>
/// Creates <c>otlp</c> receivers (traces, metrics and logs over gRPC and HTTP). No protocol is
/// enabled until its key appears in YAML (as in the OpenTelemetry Collector).
/// </summary>
internal sealed class OtlpReceiverFactory : ReceiverFactory<OtlpReceiverConfig>
{
    public OtlpReceiverFactory()
        : base("otlp", () => new OtlpReceiverConfig(), (context, config, targets) => new OtlpReceiver(context, config, targets))
    {
        WithTraces(Stability.Beta);
        WithMetrics(Stability.Beta);
        WithLogs(Stability.Beta);
        Registers(ReceiverMetrics.All);
    }
}
