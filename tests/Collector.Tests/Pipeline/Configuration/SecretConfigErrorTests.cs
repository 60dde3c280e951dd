using Collector.Pipeline.Configuration;

namespace Collector.Tests.Configuration;

/// <summary>A mistyped secret is reported by its key and YAML kind, never by its value (keys marked [Secret]).</summary>
public sealed class SecretConfigErrorTests
{
    private const string Pipelines = """
        service:
          pipelines:
            traces: { receivers: [otlp], exporters: [otlphttp] }
        """;

    [TestCase("receivers:\n  otlp:\n    protocols: { http: { endpoint: \"127.0.0.1:0\" } }\n    auth: { bearer_tokens: InlineTokenSECRET1 }\nexporters:\n  otlphttp: { endpoint: \"http://127.0.0.1:4318\" }\n",
        "receivers.otlp.auth.bearer_tokens", "expected a list")]
    [TestCase("receivers:\n  otlp:\n    protocols: { http: { endpoint: \"127.0.0.1:0\" } }\n    auth: { bearer_tokens: [ [InlineTokenSECRET1] ] }\nexporters:\n  otlphttp: { endpoint: \"http://127.0.0.1:4318\" }\n",
        "receivers.otlp.auth.bearer_tokens[0]", "expected")]
    [TestCase("receivers:\n  otlp:\n    protocols: { http: { endpoint: \"127.0.0.1:0\" } }\nexporters:\n  otlphttp: { endpoint: \"http://127.0.0.1:4318\", headers: \"Bearer InlineTokenSECRET1\" }\n",
        "exporters.otlphttp.headers", "expected a mapping")]
    [TestCase("receivers:\n  otlp:\n    protocols: { http: { endpoint: \"127.0.0.1:0\" } }\nexporters:\n  otlphttp: { endpoint: \"http://127.0.0.1:4318\", headers: { authorization: [ \"Bearer InlineTokenSECRET1\" ] } }\n",
        "exporters.otlphttp.headers.authorization", "expected")]
    public void A_mistyped_secret_names_the_key_and_the_kind_but_not_the_value(string components, string key, string expected)
    {
        var result = ConfigLoader.Load(components + Pipelines, CollectorComponents.CreateRegistry(), _ => null);

        Assert.That(result.Ok, Is.False);
        var text = string.Join("\n", result.Errors);
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain(key).And.Contain(expected));
            Assert.That(text, Does.Not.Contain("InlineTokenSECRET1"));
        });
    }

    [Test]
    public void Langtrace_api_key_and_redaction_hash_key_are_never_echoed()
    {
        const string yaml = """
            receivers:
              otlp:
                protocols: { http: { endpoint: "127.0.0.1:0" } }
              langtrace:
                endpoint: "127.0.0.1:0"
                api_keys: InlineKeySECRET2
            processors:
              redaction: { hash_key: [InlineHashSECRET3] }
            exporters:
              langtrace: { endpoint: "http://127.0.0.1:3000", api_key: { key: InlineKeySECRET4 } }
            service:
              pipelines:
                traces: { receivers: [otlp, langtrace], processors: [redaction], exporters: [langtrace] }
            """;

        var text = string.Join("\n", ConfigLoader.Load(yaml, CollectorComponents.CreateRegistry(), _ => null).Errors);

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("receivers.langtrace.api_keys").And.Contain("processors.redaction.hash_key").And.Contain("exporters.langtrace.api_key"));
            Assert.That(text, Does.Not.Contain("SECRET"));
        });
    }

    [Test]
    public void A_non_secret_value_is_still_quoted()
    {
        var result = ConfigLoader.Load(
            "receivers:\n  otlp:\n    protocols: { http: { endpoint: \"127.0.0.1:0\" } }\nexporters:\n  otlphttp: { endpoint: \"http://127.0.0.1:4318\", timeout: [visible-value] , compression: loud }\n" + Pipelines,
            CollectorComponents.CreateRegistry(), _ => null);

        Assert.That(string.Join("\n", result.Errors), Does.Contain("'loud'"));
    }
}
