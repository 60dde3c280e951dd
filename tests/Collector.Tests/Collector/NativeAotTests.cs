using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Tests.Durable;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Daemon;

/// <summary>
/// The native AOT build (README: the recommended production build) published from this checkout and
/// run as a child: config binding, every processor, the SQLite spool, gRPC + HTTP protobuf + OTLP/JSON
/// input and the otlphttp exporter all work without the JIT, and SIGTERM still drains and exits 0.
/// </summary>
[NonParallelizable]
public sealed class NativeAotTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private string _dir = "";
    private string _binary = "";

    [OneTimeSetUp]
    public async Task PublishAsync()
    {
        _dir = Directory.CreateTempSubdirectory("collector-aot-").FullName;
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "Collector.sln")))
        {
            repo = Path.GetDirectoryName(repo) ?? throw new InvalidOperationException("Collector.sln not found above the test binaries");
        }

        var output = Path.Combine(_dir, "publish");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Own artifacts path: PublishAot flows to every referenced project, which must not rebuild the
        // checkout's bin/obj under a concurrent build.
        string[] args = ["publish", Path.Combine(repo, "src", "Collector"), "-c", "Release", "-r", RuntimeInformation.RuntimeIdentifier,
            "-p:PublishAot=true", "-o", output, "--artifacts-path", Path.Combine(_dir, "artifacts"), "--nologo"];
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var publish = Process.Start(info)!;
        var stdout = publish.StandardOutput.ReadToEndAsync();
        var stderr = publish.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await publish.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            publish.Kill(entireProcessTree: true);
            Assert.Fail("dotnet publish -p:PublishAot=true took over 8 minutes");
        }

        Assert.That(publish.ExitCode, Is.Zero, $"dotnet publish -p:PublishAot=true failed:\n{await stdout}\n{await stderr}");
        _binary = Path.Combine(output, "collector");
    }

    [OneTimeTearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task The_native_build_runs_the_full_pipeline_on_every_transport_and_drains_on_sigterm()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        await using var grpcBackend = await GrpcTestBackend.StartAsync();
        int grpcPort = Ports.Free(), httpPort = Ports.Free(), metricsPort = Ports.Free();
        var config = Path.Combine(_dir, "full.yaml");
        await File.WriteAllTextAsync(config, $$"""
            receivers:
              otlp:
                protocols:
                  grpc: { endpoint: "127.0.0.1:{{grpcPort}}" }
                  http: { endpoint: "127.0.0.1:{{httpPort}}" }
            processors:
              memory_limiter: { limit_mib: 256, spike_limit_mib: 64 }
              dedup: {}
              langtrace_merge: { wait: 100ms }
              conflict_resolution: { target: otel_genai }
              redaction: { detectors: [email, api_key], action: mask }
              batch: { timeout: 50ms }
            exporters:
              otlphttp:
                endpoint: "{{backend.BaseUrl}}"
                compression: gzip
                headers: { x-tenant: aot }
                sending_queue: { spool: { directory: "{{Path.Combine(_dir, "spool")}}", durability: write_ahead } }
              otlp: { endpoint: "{{grpcBackend.Endpoint}}" }
              debug: { verbosity: basic }
            extensions:
              health_check: { endpoint: "127.0.0.1:{{Ports.Free()}}" }
            service:
              extensions: [health_check]
              telemetry: { metrics: { endpoint: "127.0.0.1:{{metricsPort}}" } }
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [memory_limiter, dedup, langtrace_merge, conflict_resolution, redaction, batch]
                  exporters: [otlphttp, otlp, debug]
            """);

        using var collector = CollectorProcess.StartExecutable(_binary, "--config", config);
        using var http = new OtlpClient(httpPort);
        var deadline = DateTime.UtcNow + Deadline;
        while (await http.SendAsync(spans: 3) != HttpStatusCode.OK)
        {
            Assert.That(collector.HasExited || DateTime.UtcNow > deadline, Is.False, "the native collector did not start serving:\n" + collector.Output);
            await Task.Delay(50);
        }

        // gRPC, with a secret in an attribute for redaction to mask.
        var grpcIds = new List<ulong>();
        var grpcRequest = SpanIds.Request(5, 0, grpcIds);
        grpcRequest.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes.Add(new KeyValue { Key = "user.contact", Value = new AnyValue { StringValue = "write to ada@example.com" } });
        using (var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}"))
        {
            // Twice: dedup must drop the repeat.
            var client = new TraceService.TraceServiceClient(channel);
            await client.ExportAsync(grpcRequest);
            await client.ExportAsync(grpcRequest);
        }

        // OTLP/JSON (decoded, not forwarded).
        var jsonIds = new List<ulong>();
        using (var client = new HttpClient())
        using (var content = new ByteArrayContent(OtlpJson.FormatUtf8(SpanIds.Request(4, 0, jsonIds))))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync(new Uri($"http://127.0.0.1:{httpPort}/v1/traces"), content);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        }

        var expected = http.Acked.Concat(grpcIds).Concat(jsonIds).ToHashSet();
        var received = new ReceivedSpans(backend);
        await Poll.UntilAsync(() => received.ContainsAll(expected) || collector.HasExited, Deadline, "every span at the backend");
        Assert.That(received.ContainsAll(expected), Is.True, collector.Output);

        var requests = backend.Calls.Select(c => ExportTraceServiceRequest.Parser.ParseFrom(c.Body)).ToList();
        var contact = requests.SelectMany(r => r.ResourceSpans).SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)
            .SelectMany(s => s.Attributes).First(a => a.Key == "user.contact");
        var deliveredIds = new List<ulong>();
        foreach (var request in requests)
        {
            SpanIds.Collect(request, deliveredIds);
        }

        var grpcIdSet = grpcIds.ToHashSet();
        await Poll.UntilAsync(() => GrpcBackendSpans(grpcBackend) >= expected.Count, Deadline, "every span at the gRPC backend too");
        using var scraper = new HttpClient();
        var metrics = await scraper.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Multiple(() =>
        {
            Assert.That(contact.Value.StringValue, Does.Not.Contain("ada@example.com").And.Contain("write to"), "redaction");
            Assert.That(deliveredIds.Count(grpcIdSet.Contains), Is.EqualTo(grpcIds.Count), "dedup dropped the repeated gRPC request");
            Assert.That(backend.Calls.All(c => c.Headers.TryGetValue("x-tenant", out var v) && v == "aot"), Is.True, "configured headers");
            Assert.That(Regex.Match(metrics, @"collector_spool_appended_batches_total\{[^}]*\} (\d+)").Groups[1].Value, Is.Not.EqualTo("").And.Not.EqualTo("0"), "write_ahead went through the SQLite spool:\n" + metrics);
        });

        collector.Signal("TERM");
        Assert.That(await collector.WaitForExitAsync(TimeSpan.FromSeconds(20)), Is.Zero, collector.Output);
    }

    private static int GrpcBackendSpans(GrpcTestBackend backend)
    {
        var count = 0;
        foreach (var call in backend.Calls)
        {
            if (call.Request is ExportTraceServiceRequest request)
            {
                count += SignalOps<ResourceSpans>.Instance.CountItems(request.ResourceSpans);
            }
        }

        return count;
    }

    [Test]
    public async Task The_native_build_validates_config_and_lists_every_error_with_its_path()
    {
        var config = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(config, """
            receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:1" } } } }
            processors: { batch: { send_batch_size: -1, timeout: soon } }
            exporters: { debug: { verbosity: loud } }
            service: { pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [debug] } } }
            """);

        using var collector = CollectorProcess.StartExecutable(_binary, "validate", "--config", config);
        var exit = await collector.WaitForExitAsync(Deadline);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2), collector.Output);
            Assert.That(collector.Output, Does.Contain("processors.batch.send_batch_size"));
            Assert.That(collector.Output, Does.Contain("processors.batch.timeout"));
            Assert.That(collector.Output, Does.Contain("exporters.debug.verbosity"));
        });
    }
}
