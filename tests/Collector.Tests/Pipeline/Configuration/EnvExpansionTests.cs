using static Collector.Tests.Configuration.ConfigTestHelper;

namespace Collector.Tests.Configuration;

public class EnvExpansionTests
{
    private const string Token = "tok-9f8e7d6c5b4a";
    private const string Key = "sk-live-0a1b2c3d";

    [Test]
    public void References_expand_with_values_defaults_and_escapes()
    {
        var env = new Dictionary<string, string>
        {
            ["HOST"] = "10.0.0.1",
            ["PORT"] = "4317",
            ["API_KEY"] = "key-abc",
            ["WORKERS"] = "6",
            ["SET_EMPTY"] = string.Empty,
            ["PLAIN"] = "bare",
        };

        var config = LoadOk(MinimalPipelines.Replace("  test_rx:\n", """
              test_rx:
                endpoint: ${env:HOST}:${env:PORT}
                api_key: "${env:API_KEY}"
                key_header: ${env:HEADER:-x-default}
                workers: ${env:WORKERS}
                timeout: ${env:TIMEOUT:-3s}
                tags:
                  - "[${env:UNSET}]"
                  - pre-${PLAIN}-post
                  - $${env:LITERAL}
                  - cost $5 and $${x}
                  - ${env:SET_EMPTY:-fallback}
                  - ${UNSET_TOO:-dflt}

            """, StringComparison.Ordinal), env);

        var rx = Get(config.Receivers, "test_rx");
        Assert.That(rx.Endpoint, Is.EqualTo("10.0.0.1:4317"), "several references in one value");
        Assert.That(rx.ApiKey, Is.EqualTo("key-abc"));
        Assert.That(rx.ApiKeyHeaderName, Is.EqualTo("x-default"), "default when unset");
        Assert.That(rx.Workers, Is.EqualTo(6), "typed values parse after expansion");
        Assert.That(rx.Timeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(rx.Tags, Is.EqualTo(new[]
        {
            "[]",                // unset, no default: empty, as the OpenTelemetry Collector does
            "pre-bare-post",     // ${NAME} uses the env provider by default
            "${env:LITERAL}",    // $${ escapes
            "cost $5 and ${x}",  // a lone $ stays
            string.Empty,        // set but empty: the default applies only when unset
            "dflt",
        }));
    }

    [Test]
    public void Unset_variable_bound_to_an_integer_reports_the_reference_not_a_blank()
    {
        var errors = LoadErrors(MinimalPipelines.Replace("  test_rx:\n", "  test_rx:\n    workers: ${env:WORKERS}\n", StringComparison.Ordinal));

        Assert.That(errors, Is.EqualTo(new[] { "receivers.test_rx.workers: '${env:WORKERS}' is not an integer" }));
    }

    [Test]
    public void Errors_about_env_values_never_print_the_value()
    {
        var env = new Dictionary<string, string> { ["TOKEN"] = Token, ["API_KEY"] = Key, ["COUNT"] = "12x" };

        var errors = LoadErrors(MinimalPipelines.Replace("  test_rx:\n", """
              test_rx:
                timeout: ${env:TOKEN}
                api_key: ${env:API_KEY}
                workers: ${env:COUNT}
              test_rx/partial:
                api_key: "Bearer ${env:API_KEY}"
                retry: ${env:TOKEN}

            """, StringComparison.Ordinal), env);

        Assert.That(errors, Is.EqualTo(new[]
        {
            "receivers.test_rx.timeout: '${env:TOKEN}' is not a duration (e.g. 500ms, 5s, 1m30s)",
            "receivers.test_rx.workers: '${env:COUNT}' is not an integer",
            "receivers.test_rx.api_key: '${env:API_KEY}' must start with key-",
            "receivers.test_rx/partial.retry: expected a mapping, got '${env:TOKEN}'",
            "receivers.test_rx/partial.api_key: 'Bearer ${env:API_KEY}' must start with key-",
        }));
        foreach (var error in errors)
        {
            Assert.That(error, Does.Not.Contain(Token));
            Assert.That(error, Does.Not.Contain(Key));
            Assert.That(error, Does.Not.Contain("12x"));
        }
    }

    [Test]
    public void Env_values_printed_by_service_checks_are_hidden_too()
    {
        var env = new Dictionary<string, string> { ["METRICS"] = "internal-host-name", ["EXP"] = "secret_exporter" };

        var errors = LoadErrors(MinimalPipelines.Replace("exporters: [test_exp]", "exporters: [\"${env:EXP}\"]", StringComparison.Ordinal)
            + "\n  telemetry: { metrics: { endpoint: \"${env:METRICS}\" } }\n", env);

        Assert.That(errors, Is.EqualTo(new[]
        {
            "service.telemetry.metrics.endpoint: '${env:METRICS}' is not a valid endpoint (expected host:port)",
            "service.pipelines.traces.exporters[0]: exporter '${env:EXP}' is not defined",
        }));
    }

    [TestCase("${file:/etc/secret}", "receivers.test_rx.endpoint: unknown config provider 'file' in '${file:/etc/secret}' (only ${env:NAME} is supported)")]
    [TestCase("${env:NOT-A-NAME}", "receivers.test_rx.endpoint: 'NOT-A-NAME' in '${env:NOT-A-NAME}' is not a valid environment variable name")]
    [TestCase("${env:HOST", "receivers.test_rx.endpoint: '${' has no closing '}' (write $${ for a literal ${)")]
    public void Malformed_or_unsupported_references_are_errors(string value, string expected)
    {
        var errors = LoadErrors(MinimalPipelines.Replace("  test_rx:\n", $"  test_rx:\n    endpoint: \"{value}\"\n", StringComparison.Ordinal));

        Assert.That(errors, Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void An_alias_is_expanded_once()
    {
        var env = new Dictionary<string, string> { ["A"] = "x" };

        var config = LoadOk(MinimalPipelines.Replace("  test_rx:\n", """
              test_rx:
                endpoint: &ep "$${env:A}-${env:A}"
                key_header: *ep

            """, StringComparison.Ordinal), env);

        var rx = Get(config.Receivers, "test_rx");
        Assert.That(rx.Endpoint, Is.EqualTo("${env:A}-x"));
        Assert.That(rx.ApiKeyHeaderName, Is.EqualTo("${env:A}-x"));
    }
}
