using Collector.Pipeline;

namespace Collector.HealthCheck;

internal sealed class HealthCheckFactory()
    : ExtensionFactory<HealthCheckConfig>("health_check", () => new HealthCheckConfig(), (context, config, status) => new HealthCheckExtension(context, config, status));
