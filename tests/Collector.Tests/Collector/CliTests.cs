using System.Net;
using System.Text.RegularExpressions;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.Daemon;

/// <summary>The real collector binary as a child process: validate, exit codes, signals, health, /metrics.</summary>
[NonParallelizable]
public sealed class CliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("collector-cli-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, "collector.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [TestCase("collector.yaml")]
    [TestCase("config/gateway.yaml")]
    [TestCase("config/langtrace.yaml")]
    public async Task The_shipped_configs_validate(string file)
    {
        // The Langtrace example needs its key from the environment, as in production; the child inherits it.
        Environment.SetEnvironmentVariable("LANGTRACE_API_KEY", "lt-test-key-not-secret");
        try
        {
            var (exit, output) = await CollectorProcess.RunAsync(Timeout, "validate", "--config", RepositoryFiles.PathOf(file));
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("configuration is valid"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("LANGTRACE_API_KEY", null);
        }
    }

    [Test]
    public async Task The_langtrace_example_without_its_key_names_the_variable_to_set()
    {
        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "validate", "--config", RepositoryFiles.PathOf("config/langtrace.yaml"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain("exporters.langtrace.api_key").And.Contain("LANGTRACE_API_KEY"));
    }

    [Test]
    public async Task Validate_lists_every_error_with_its_path_and_exits_non_zero()
    {
        var path = Write("""
            receivers:
              otlp:
                protocols:
                  grpc: { endpoint: "nonsense" }
                  htp: {}
            processors:
              batch: { timeout: soon, send_batch_size: many }
              nosuch: {}
            exporters:
              otlp: { endpoint: "http://127.0.0.1:4317", timeout: -5 }
            service:
              pipelines:
                traces: { receivers: [otlp], processors: [batch, missing], exporters: [otlp, debug] }
                profiles: { receivers: [otlp], exporters: [otlp] }
            """);

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "validate", "--config", path);

        Assert.That(exit, Is.EqualTo(2), output);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("receivers.otlp.protocols.grpc.endpoint"));
            Assert.That(output, Does.Contain("receivers.otlp.protocols.htp"));
            Assert.That(output, Does.Contain("processors.batch.timeout"));
            Assert.That(output, Does.Contain("processors.batch.send_batch_size"));
            Assert.That(output, Does.Contain("processors.nosuch"));
            Assert.That(output, Does.Contain("exporters.otlp.timeout"));
            Assert.That(output, Does.Contain("service.pipelines.traces.processors[1]"));
            Assert.That(output, Does.Contain("service.pipelines.traces.exporters[1]"));
            Assert.That(output, Does.Contain("service.pipelines.profiles"));
        });
        var count = int.Parse(Regex.Match(output, @"(\d+) config error\(s\)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(count, Is.GreaterThanOrEqualTo(9));
    }

    [Test]
    public async Task Validate_never_prints_a_mistyped_inline_secret()
    {
        var path = Write("""
            receivers:
              otlp:
                protocols: { http: { endpoint: "127.0.0.1:0" } }
                auth: { bearer_tokens: InlineTokenSECRET1 }
            exporters:
              otlphttp: { endpoint: "http://127.0.0.1:4318", headers: "Bearer InlineTokenSECRET2" }
            service:
              pipelines:
                traces: { receivers: [otlp], exporters: [otlphttp] }
            """);

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "validate", "--config", path);

        Assert.That(exit, Is.EqualTo(2), "rejected");
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("receivers.otlp.auth.bearer_tokens").And.Contain("exporters.otlphttp.headers"));
            Assert.That(output, Does.Not.Contain("SECRET"));
        });
    }

    [Test]
    public async Task Running_with_an_invalid_config_starts_nothing_and_exits_non_zero()
    {
        var port = Ports.Free();
        var path = Write($$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } } }
            exporters: { debug: { verbosity: loud } }
            service: { pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }
            """);

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "--config", path);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain("exporters.debug.verbosity"));
    }

    [Test]
    public async Task Help_version_and_bad_usage()
    {
        var (helpExit, help) = await CollectorProcess.RunAsync(Timeout, "--help");
        var (versionExit, version) = await CollectorProcess.RunAsync(Timeout, "--version");
        var (usageExit, usage) = await CollectorProcess.RunAsync(Timeout, "--bogus");

        Assert.That(helpExit, Is.Zero);
        Assert.That(help, Does.Contain("collector validate --config FILE"));
        Assert.That(versionExit, Is.Zero);
        Assert.That(version, Does.Match(@"collector \d+\.\d+\.\d+"));
        Assert.That(usageExit, Is.Not.Zero);
        Assert.That(usage, Does.Contain("unknown argument '--bogus'"));
    }

    [Test]
    public async Task Sigterm_drains_pending_data_to_the_backend_then_exits_zero_and_health_and_metrics_answer_while_running()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        int http = Ports.Free(), health = Ports.Free(), metrics = Ports.Free();
        var path = Write($$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{http}}" } } } }
            processors: { batch: { timeout: 1m, send_batch_size: 100000 } }
            exporters: { otlphttp: { endpoint: "{{backend.BaseUrl}}", compression: none } }
            extensions: { health_check: { endpoint: "127.0.0.1:{{health}}" } }
            service:
              extensions: [health_check]
              shutdown_timeout: 20s
              telemetry: { logs: { level: info, format: json }, metrics: { endpoint: "127.0.0.1:{{metrics}}" } }
              pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] } }
            """);
        using var collector = CollectorProcess.Start("--config", path);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        await PollHttpAsync(client, $"http://127.0.0.1:{health}/", HttpStatusCode.OK, collector);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(TestData.Spans(2, 1, 5));
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new("application/x-protobuf");
        var response = await client.PostAsync(new Uri($"http://127.0.0.1:{http}/v1/traces"), content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var scrape = await client.GetStringAsync(new Uri($"http://127.0.0.1:{metrics}/metrics"));
        Assert.That(scrape, Does.Match(@"collector_receiver_accepted_spans_total\{[^}]*\} 10"));
        Assert.That(backend.Calls, Is.Empty, "the batch waits for its 1m timeout");

        collector.Signal("TERM");
        var exit = await collector.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.That(exit, Is.Zero, collector.Output);
        var delivered = backend.Calls.Sum(c => ExportTraceServiceRequest.Parser.ParseFrom(c.Body).ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)));
        Assert.That(delivered, Is.EqualTo(10), "shutdown flushed the pending batch");
        Assert.That(collector.Output, Does.Contain("\"@mt\":\"Collector stopped\"").Or.Contain("Collector stopped"));
    }

    private static async Task PollHttpAsync(HttpClient client, string url, HttpStatusCode expected, CollectorProcess process)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            Assert.That(process.HasExited, Is.False, () => $"collector exited early:\n{process.Output}");
            try
            {
                using var response = await client.GetAsync(new Uri(url));
                if (response.StatusCode == expected)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{url} never answered {expected}; output:\n{process.Output}");
            }

            await Task.Delay(50);
        }
    }
}
