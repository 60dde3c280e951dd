using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector.HealthCheck;

internal sealed class HealthCheckFactory : IExtensionFactory
{
    public string Type => "health_check";

    public ComponentKind Kind => ComponentKind.Extension;

    public ComponentConfig CreateDefaultConfig() => new HealthCheckConfig();

    public bool Supports(Signal signal) => false;

    public IExtension CreateExtension(ComponentContext context, ComponentConfig config, ICollectorStatus status) =>
        new HealthCheckExtension(context, (HealthCheckConfig)config, status);
}
