using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.EndToEnd;

/// <summary>
/// A real collector process with every kind of configured secret (an ingest bearer token, a
/// Langtrace api key, an upstream header token), debug logging, clients sending wrong and right
/// tokens and backends that answer 401 echoing the credentials: every line the collector wrote,
/// from start to stop, holds none of the secrets.
/// </summary>
[NonParallelizable]
public sealed class SecretsInLogsTests
{
    private const string IngestToken = "ingest-token-SECRET-4a5b6c7d";
    private const string LangtraceKey = "lt-key-SECRET-8e9f0a1b";
    private const string UpstreamToken = "upstream-token-SECRET-2c3d4e5f";
    private const string WrongToken = "wrong-token-SECRET-6a7b8c9d";

    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("collector-secrets-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task No_configured_secret_appears_in_any_log_line_of_a_run()
    {
        await using var langtrace = await EchoingAuthBackend.StartAsync();
        await using var upstream = await EchoingAuthBackend.StartAsync();
        int http = Ports.Free(), health = Ports.Free(), metrics = Ports.Free();
        var path = Path.Combine(_dir, "collector.yaml");
        await File.WriteAllTextAsync(path, string.Create(CultureInfo.InvariantCulture, $$"""
            receivers:
              otlp:
                protocols: { http: { endpoint: "127.0.0.1:{{http}}" } }
                auth: { bearer_tokens: ["${env:INGEST_TOKEN}"] }
            exporters:
              langtrace: { endpoint: "{{langtrace.Url}}", api_key: "${env:LANGTRACE_API_KEY}", flush_interval: 100ms, retry_on_failure: { enabled: false } }
              otlphttp: { endpoint: "{{upstream.Url}}", encoding: json, headers: { authorization: "Bearer ${env:UPSTREAM_TOKEN}" }, retry_on_failure: { enabled: false } }
            extensions: { health_check: { endpoint: "127.0.0.1:{{health}}" } }
            service:
              extensions: [health_check]
              telemetry: { logs: { level: debug }, metrics: { endpoint: "127.0.0.1:{{metrics}}" } }
              pipelines: { traces: { receivers: [otlp], exporters: [langtrace, otlphttp] } }
            """));
        var environment = new Dictionary<string, string>
        {
            ["INGEST_TOKEN"] = IngestToken,
            ["LANGTRACE_API_KEY"] = LangtraceKey,
            ["UPSTREAM_TOKEN"] = UpstreamToken,
        };
        using var collector = CollectorProcess.StartWithEnvironment(environment, "--config", path);
        await collector.WaitUntilHealthyAsync(health);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        Assert.That(await PostAsync(client, http, WrongToken), Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await PostAsync(client, http, IngestToken), Is.EqualTo(HttpStatusCode.OK));
        await Poll.UntilAsync(() => langtrace.Answered >= 1 && upstream.Answered >= 1, TimeSpan.FromSeconds(20), "both backends answered 401");
        await Poll.UntilAsync(() => LoggedRejection(collector.Output, "langtrace") && LoggedRejection(collector.Output, "otlphttp"), TimeSpan.FromSeconds(20), "both exporters logged the rejection");

        collector.Signal("TERM");
        Assert.That(await collector.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, "clean stop");
        var output = collector.Output;
        Assert.Multiple(() =>
        {
            foreach (var secret in new[] { IngestToken, LangtraceKey, UpstreamToken, WrongToken, EchoingAuthBackend.StrangerKey })
            {
                // The secret itself is never printed, not even in a failure message.
                Assert.That(output.Contains(secret, StringComparison.Ordinal), Is.False, $"a configured or echoed secret ({secret.Length} characters) is in the log");
            }

            Assert.That(output, Does.Contain("****"), "the echoed credentials were masked, not just absent");
        });
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient client, int port, string token)
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(TestData.Spans(1, 1, 2));
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{port}/v1/traces")) { Content = content };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(message);
        return response.StatusCode;
    }

    private static bool LoggedRejection(string output, string exporter)
    {
        foreach (var line in output.Split('\n'))
        {
            if (line.Contains("HTTP 401", StringComparison.Ordinal) && line.Contains(exporter, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
