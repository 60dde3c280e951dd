using Collector.Pipeline.Configuration;
using Collector.Pipeline.Secrets;
using Collector.Processors.Redaction;

namespace Collector.Tests.Redaction;

/// <summary>Config errors come from the real loader, each with its YAML path, all at once.</summary>
public sealed class RedactionConfigTests
{
    private static IReadOnlyList<string> Load(string processorYaml, Func<string, string?>? env = null)
    {
        var yaml = $$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
            processors:
            {{processorYaml}}
            exporters:
              debug:
            service:
              pipelines:
                traces: { receivers: [otlp], processors: [redaction/strict], exporters: [debug] }
            """;
        return ConfigLoader.Load(yaml, CollectorComponents.CreateRegistry(), env ?? (_ => null)).Errors;
    }

    [Test]
    public void Every_invalid_regex_is_reported_with_its_path()
    {
        var errors = Load("""
              redaction/strict:
                blocked_key_patterns: ["(?i)authorization", "(unclosed"]
                blocked_values: ["ok", "\\bACME-[0-9]{6}\\b", "[z-a]"]
                allowed_values: ["*bad"]
            """);

        Assert.That(errors, Has.Count.EqualTo(3));
        Assert.That(errors[0], Does.StartWith("processors.redaction/strict.blocked_key_patterns[1]: invalid regex: "));
        Assert.That(errors[1], Does.StartWith("processors.redaction/strict.blocked_values[2]: invalid regex: "));
        Assert.That(errors[2], Does.StartWith("processors.redaction/strict.allowed_values[0]: invalid regex: "));
    }

    [Test]
    public void Unknown_unscanned_locations_are_reported_and_known_ones_accepted()
    {
        Assert.That(Load("""
              redaction/strict:
                unscanned_locations: [span_name, attribute_keys, trace_state, schema_url]
            """), Is.Empty);

        var errors = Load("""
              redaction/strict:
                unscanned_locations: [span_name, metric_name]
            """);

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("processors.redaction/strict.unscanned_locations[1]: ").And.Contains("'metric_name'"));
    }

    [Test]
    public void Unknown_detectors_bad_limits_and_a_missing_hash_key_are_all_reported()
    {
        var errors = Load("""
              redaction/strict:
                detectors: [email, ssn, credit_card, passport]
                action: hash
                max_value_bytes: 0
                max_json_depth: 100000
                regex_timeout: 0s
                allowed_keys: [""]
            """);

        Assert.That(errors, Has.Some.StartsWith("processors.redaction/strict.detectors[1]: ").And.Some.Contains("'ssn'"));
        Assert.That(errors, Has.Some.StartsWith("processors.redaction/strict.detectors[3]: ").And.Some.Contains("'passport'"));
        Assert.That(errors, Has.Some.Contains("one of: email, credit_card, phone, ipv4, api_key, bearer_token, jwt"));
        Assert.That(errors, Has.Some.StartsWith("processors.redaction/strict.hash_key: required when action is hash"));
        Assert.That(errors, Has.Some.EqualTo("processors.redaction/strict.max_value_bytes: must be > 0"));
        Assert.That(errors, Has.Some.EqualTo("processors.redaction/strict.max_json_depth: must be in 1..256"));
        Assert.That(errors, Has.Some.EqualTo("processors.redaction/strict.regex_timeout: must be > 0"));
        Assert.That(errors, Has.Some.EqualTo("processors.redaction/strict.allowed_keys[0]: must not be empty"));
        Assert.That(errors, Has.Count.EqualTo(7), string.Join("\n", errors));
    }

    [Test]
    public void The_hash_key_never_appears_in_errors()
    {
        const string key = "s3cr3t-hash-key-value";
        var errors = Load(
            """
              redaction/strict:
                action: hash
                hash_key: ${env:REDACTION_HASH_KEY}
                max_json_bytes: -1
                summary: maybe
            """,
            name => name == "REDACTION_HASH_KEY" ? key : null);

        Assert.That(errors, Has.Count.EqualTo(2));
        Assert.That(string.Join('\n', errors), Does.Not.Contain(key));
    }

    [Test]
    public void A_full_config_binds_every_key()
    {
        var result = ConfigLoader.Load(
            """
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
            processors:
              redaction/strict:
                detectors: [email, credit_card, phone, ipv4, api_key, bearer_token, jwt]
                blocked_key_patterns: ["(?i)authorization"]
                blocked_values: ["\\bACME-[0-9]{6}\\b"]
                allowed_values: ["@example-corp\\.com$"]
                allowed_keys: [gen_ai.prompt]
                action: hash
                hash_key: ${env:REDACTION_HASH_KEY}
                summary: true
                max_value_bytes: 2048
                max_json_bytes: 1024
                max_json_depth: 16
                regex_timeout: 250ms
            exporters:
              debug:
            service:
              pipelines:
                traces: { receivers: [otlp], processors: [redaction/strict], exporters: [debug] }
            """,
            CollectorComponents.CreateRegistry(),
            name => name == "REDACTION_HASH_KEY" ? "k" : null);

        Assert.That(result.Errors, Is.Empty);
        var config = (RedactionConfig)result.Config!.Processors[TestSupport.TestData.ComponentIdOf("redaction/strict")];
        Assert.That(config.Detectors, Is.EqualTo(Enum.GetValues<RedactionDetector>()));
        Assert.That((config.Action, config.HashKey, config.Summary), Is.EqualTo((RedactionAction.Hash, "k", true)));
        Assert.That((config.MaxValueBytes, config.MaxJsonBytes, config.MaxJsonDepth, config.RegexTimeout), Is.EqualTo((2048, 1024, 16, TimeSpan.FromMilliseconds(250))));
        Assert.That(config.BlockedValues, Is.EqualTo(new[] { @"\bACME-[0-9]{6}\b" }));
        Assert.That(config.AllowedValues, Is.EqualTo(new[] { @"@example-corp\.com$" }));
        Assert.That(config.AllowedKeys, Is.EqualTo(new[] { "gen_ai.prompt" }));
    }
}
