using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector.Receiver.Otlp;

/// <summary>Creates <c>otlp</c> receivers (traces, metrics and logs over gRPC and HTTP).</summary>
internal sealed class OtlpReceiverFactory : IReceiverFactory
{
    public string Type => "otlp";

    public ComponentKind Kind => ComponentKind.Receiver;

    /// <summary>No protocol is enabled until its key appears in YAML (as in the OpenTelemetry Collector).</summary>
    public ComponentConfig CreateDefaultConfig() => new OtlpReceiverConfig();

    public bool Supports(Signal signal) => true;

    public IReceiver CreateReceiver(ComponentContext context, ComponentConfig config, ReceiverTargets targets) =>
        new OtlpReceiver(context, (OtlpReceiverConfig)config, targets);
}
