using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector;

/// <summary>The factories this binary ships, by kind and type name.</summary>
internal static class CollectorComponents
{
    public static ComponentRegistry CreateRegistry(params IComponentFactory[] extra) =>
        new([
            .. Receiver.ReceiverFactories.All(),
            .. Processors.ProcessorFactories.All(),
            .. Exporters.ExporterFactories.All(),
            new HealthCheck.HealthCheckFactory(),
            .. extra,
        ]);
}
