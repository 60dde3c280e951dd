using System.Text.RegularExpressions;
using Collector.HealthCheck;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Receiver.Otlp;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Daemon;

/// <summary>
/// The shipped configs and the README's environment table agree, and every port of
/// <c>collector.yaml</c> moves with its variable (a second collector on one machine needs that).
/// </summary>
public sealed partial class EnvironmentTableTests
{
    private static readonly string[] ShippedConfigs = ["collector.yaml", "config/gateway.yaml", "config/langtrace.yaml"];

    [Test]
    public void Every_variable_a_shipped_config_reads_is_in_the_readme_table_with_its_file()
    {
        var readme = File.ReadAllText(RepositoryFiles.PathOf("README.md"));
        Assert.Multiple(() =>
        {
            foreach (var file in ShippedConfigs)
            {
                foreach (Match reference in EnvReference().Matches(File.ReadAllText(RepositoryFiles.PathOf(file))))
                {
                    var name = reference.Groups["name"].Value;
                    var row = Regex.Match(readme, $@"^\| `{name}` \|(?<rest>.*)$", RegexOptions.Multiline);
                    Assert.That(row.Success, Is.True, $"README environment table lacks {name} (read by {file})");
                    Assert.That(row.Groups["rest"].Value, Does.Contain($"`{file}`"), $"README row of {name} names {file}");
                }
            }
        });
    }

    [Test]
    public void Every_endpoint_in_collector_yaml_is_overridable_from_the_environment()
    {
        var lines = File.ReadAllLines(RepositoryFiles.PathOf("collector.yaml"));
        var endpoints = lines.Where(l => l.Contains("endpoint:", StringComparison.Ordinal) && !l.TrimStart().StartsWith('#')).ToList();

        Assert.That(endpoints, Has.Count.EqualTo(4), "grpc, http, health_check, metrics");
        Assert.That(endpoints, Has.All.Contains("${env:"));
    }

    [Test]
    public void The_variables_move_every_port_of_collector_yaml()
    {
        var environment = new Dictionary<string, string>
        {
            ["OTLP_GRPC_ENDPOINT"] = "127.0.0.1:14317",
            ["OTLP_HTTP_ENDPOINT"] = "127.0.0.1:14318",
            ["HEALTH_CHECK_ENDPOINT"] = "127.0.0.1:23133",
            ["METRICS_ENDPOINT"] = "127.0.0.1:18888",
        };

        var loaded = ConfigLoader.Load(
            File.ReadAllText(RepositoryFiles.PathOf("collector.yaml")),
            CollectorComponents.CreateRegistry(),
            name => environment.GetValueOrDefault(name));

        Assert.That(loaded.Errors, Is.Empty);
        var config = loaded.Config!;
        var otlp = (OtlpReceiverConfig)config.Receivers[new ComponentId("otlp", "")];
        var health = (HealthCheckConfig)config.Extensions[new ComponentId("health_check", "")];
        Assert.Multiple(() =>
        {
            Assert.That(otlp.Protocols.Grpc!.Endpoint, Is.EqualTo("127.0.0.1:14317"));
            Assert.That(otlp.Protocols.Http!.Endpoint, Is.EqualTo("127.0.0.1:14318"));
            Assert.That(health.Endpoint, Is.EqualTo("127.0.0.1:23133"));
            Assert.That(config.Service.Telemetry.MetricsEndpoint, Is.EqualTo("127.0.0.1:18888"));
        });
    }

    [GeneratedRegex(@"\$\{env:(?<name>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex EnvReference();
}
