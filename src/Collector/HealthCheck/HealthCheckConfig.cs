using Collector.Pipeline.Configuration;

namespace Collector.HealthCheck;

public sealed class HealthCheckConfig : ComponentConfig
{
    /// <summary>Listen address (host:port) of the health endpoint.</summary>
    public string Endpoint { get; set; } = "localhost:13133";

    /// <summary>Path that answers the health status.</summary>
    public string Path { get; set; } = "/";

    public override void Validate(ConfigErrors errors)
    {
        Pipeline.Configuration.Endpoint.ValidateListen(Endpoint, errors.At("endpoint"));
        if (!Path.StartsWith('/'))
        {
            errors.Add("path", "must start with '/'");
        }
    }
}
