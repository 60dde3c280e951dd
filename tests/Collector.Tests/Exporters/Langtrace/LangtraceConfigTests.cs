using Collector.Exporters.Langtrace;
using Collector.Pipeline.Configuration;
using Collector.Receiver.Langtrace;

namespace Collector.Tests.LangtraceInterop;

/// <summary>Config binding and validation of the langtrace exporter and receiver, through the real loader.</summary>
public sealed class LangtraceConfigTests
{
    private const string Secret = "lt-env-secret-5550123";

    [Test]
    public void Defaults_bind_from_yaml_with_the_key_from_the_environment()
    {
        var loaded = Load("""
            receivers:
              langtrace: { endpoint: "127.0.0.1:3000", api_keys: ["${env:LT_RECEIVER_KEY}"] }
            exporters:
              langtrace: { api_key: "${env:LANGTRACE_API_KEY}", headers: { x-tenant: acme } }
            service:
              pipelines:
                traces: { receivers: [langtrace], exporters: [langtrace] }
            """);

        Assert.That(loaded.Errors, Is.Empty);
        var exporter = (LangtraceExporterConfig)loaded.Config!.Exporters.Values.Single();
        Assert.Multiple(() =>
        {
            Assert.That(exporter.Endpoint, Is.EqualTo("https://app.langtrace.ai/api/trace"));
            Assert.That(exporter.ApiKey, Is.EqualTo(Secret));
            Assert.That(exporter.BatchSize, Is.EqualTo(50));
            Assert.That(exporter.FlushInterval, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(exporter.CopyResourceAttributes, Is.EqualTo(new[] { "service.name" }));
            Assert.That(exporter.Headers["x-tenant"], Is.EqualTo("acme"));
            var receiver = (LangtraceReceiverConfig)loaded.Config.Receivers.Values.Single();
            Assert.That(receiver.ApiKeys, Is.EqualTo(new[] { "receiver-key" }));
            Assert.That(receiver.MaxRequestBodySizeMib, Is.EqualTo(20));
        });
    }

    [Test]
    public void A_missing_key_is_an_error_for_a_remote_endpoint_only()
    {
        var remote = Load(Pipeline("langtrace: { endpoint: https://langtrace.example.com/api/trace, api_key: \"${env:UNSET_LT_KEY}\" }"));
        Assert.That(remote.Errors, Has.Some.Contain("exporters.langtrace.api_key").And.Contain("required"));

        foreach (var local in new[] { "http://localhost:3000/api/trace", "http://127.0.0.1:3000/api/trace", "http://[::1]:3000/api/trace" })
        {
            Assert.That(Load(Pipeline($"langtrace: {{ endpoint: \"{local}\" }}")).Errors, Is.Empty, local);
        }
    }

    [Test]
    public void Every_error_is_reported_with_its_path_and_no_secret()
    {
        var loaded = Load(Pipeline("""
            langtrace:
                endpoint: "ftp://nowhere"
                api_key: "${env:LANGTRACE_API_KEY}"
                batch_size: 0
                flush_interval: 0s
                headers: { X-Api-Key: "${env:LANGTRACE_API_KEY}" }
                copy_resource_attributes: [""]
            """));

        Assert.That(loaded.Errors, Has.Some.Contain("exporters.langtrace.endpoint"));
        Assert.That(loaded.Errors, Has.Some.Contain("exporters.langtrace.batch_size"));
        Assert.That(loaded.Errors, Has.Some.Contain("exporters.langtrace.flush_interval"));
        Assert.That(loaded.Errors, Has.Some.Contain("exporters.langtrace.headers").And.Contain("X-Api-Key"));
        Assert.That(loaded.Errors, Has.Some.Contain("exporters.langtrace.copy_resource_attributes"));
        Assert.That(loaded.Errors, Has.None.Contain(Secret));
    }

    [Test]
    public void Receiver_errors_name_the_key_by_position_never_by_value()
    {
        var loaded = Load("""
            receivers:
              langtrace: { endpoint: "nowhere", api_keys: ["ok-key", "bad key"], max_request_body_size_mib: 0 }
            exporters:
              langtrace: { endpoint: "http://127.0.0.1:3000/api/trace" }
            service:
              pipelines:
                traces: { receivers: [langtrace], exporters: [langtrace] }
            """);

        Assert.That(loaded.Errors, Has.Some.Contain("receivers.langtrace.endpoint"));
        Assert.That(loaded.Errors, Has.Some.Contain("receivers.langtrace.max_request_body_size_mib"));
        Assert.That(loaded.Errors, Has.Some.Contain("receivers.langtrace.api_keys").And.Contain("#2"));
        Assert.That(loaded.Errors, Has.None.Contain("bad key"));
    }

    [Test]
    public void Metrics_and_logs_pipelines_cannot_use_langtrace()
    {
        var loaded = Load("""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
            exporters:
              langtrace: { endpoint: "http://127.0.0.1:3000/api/trace" }
            service:
              pipelines:
                logs: { receivers: [otlp], exporters: [langtrace] }
            """);

        Assert.That(loaded.Errors, Has.Some.Contain("langtrace"));
    }

    private static string Pipeline(string exporter) => $$"""
        receivers:
          otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
        exporters:
          {{exporter.Replace("\n", "\n  ", StringComparison.Ordinal)}}
        service:
          pipelines:
            traces: { receivers: [otlp], exporters: [langtrace] }
        """;

    private static ConfigLoadResult Load(string yaml) =>
        ConfigLoader.Load(yaml, CollectorComponents.CreateRegistry(), name => name switch
        {
            "LANGTRACE_API_KEY" => Secret,
            "LT_RECEIVER_KEY" => "receiver-key",
            _ => null,
        });
}
