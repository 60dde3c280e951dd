using System.Net;
using Collector.Tests.Receiver;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.Core;

/// <summary>
/// service.memory_limit in a whole in-process collector (real OTLP/HTTP receiver): a pipeline
/// without memory_limiter refuses at its door once managed memory passes the default limit. A
/// limit of 1 MiB is always passed by the test process, so the refusal needs no memory pressure.
/// </summary>
public sealed class DefaultMemoryLimitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private static string Yaml(int port, string memoryLimit, string tracesProcessors = "[]") => $$"""
        receivers:
          otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
        processors:
          memory_limiter: { limit_mib: 1000000 }
        exporters:
          debug:
        service:
          telemetry: { metrics: { endpoint: null } }
          memory_limit: {{memoryLimit}}
          pipelines:
            traces: { receivers: [otlp], processors: {{tracesProcessors}}, exporters: [debug] }
            logs: { receivers: [otlp], exporters: [debug] }
        """;

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, int port, string path, IMessage request)
    {
        using var body = new ByteArrayContent(request.ToByteArray());
        body.Headers.ContentType = new("application/x-protobuf");
        return await http.PostAsync(new Uri($"http://127.0.0.1:{port}{path}"), body);
    }

    /// <summary>Posts until the collector answers 503 (the gate's first measurement runs at start); fails at the deadline.</summary>
    private static async Task<HttpResponseMessage> PostUntilRefusedAsync(HttpClient http, int port, string path, IMessage request)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var reply = await PostAsync(http, port, path, request);
            if (reply.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return reply;
            }

            reply.Dispose();
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no 503 on {path} within {Deadline.TotalSeconds}s");
            }

            await Task.Delay(20);
        }
    }

    [Test]
    public async Task A_pipeline_without_memory_limiter_refuses_with_503_and_retry_after_above_the_default_limit()
    {
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(port, "{ limit_mib: 1, check_interval: 50ms }"));
        using var http = new HttpClient();
        var metrics = collector.Host.Metrics;

        using var refused = await PostUntilRefusedAsync(http, port, "/v1/traces", OtlpSamples.Traces(3));

        Assert.Multiple(() =>
        {
            Assert.That(refused.Headers.RetryAfter, Is.Not.Null, "the SDK is told when to retry");
            Assert.That(metrics.Read("collector_service_memory_limit_refused_requests_total"), Is.GreaterThanOrEqualTo(1));
            Assert.That(metrics.Read("collector_pipeline_refused_spans_total", ("pipeline", "traces")), Is.GreaterThanOrEqualTo(3));
            Assert.That(metrics.Read("collector_service_memory_limit_soft_limit_bytes"), Is.EqualTo((1 << 20) - ((1 << 20) / 5)));
            Assert.That(metrics.Read("collector_service_memory_limit_used_bytes"), Is.GreaterThan(1 << 20));
            Assert.That(metrics.Read("collector_service_memory_limit_forced_gc_total"), Is.GreaterThanOrEqualTo(1), "above the hard limit it collects");
        });
    }

    [Test]
    public async Task A_grpc_client_gets_unavailable_with_a_retry_delay()
    {
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync($$"""
            receivers:
              otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{{port}}" } } }
            exporters:
              debug:
            service:
              telemetry: { metrics: { endpoint: null } }
              memory_limit: { limit_mib: 1, check_interval: 50ms }
              pipelines:
                traces: { receivers: [otlp], exporters: [debug] }
            """);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new TraceService.TraceServiceClient(channel);

        var deadline = DateTime.UtcNow + Deadline;
        RpcException? refused = null;
        while (refused is null)
        {
            try
            {
                await client.ExportAsync(OtlpSamples.Traces(3));
            }
            catch (RpcException e)
            {
                refused = e;
                break;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "no UNAVAILABLE from the default memory limit");
            await Task.Delay(20);
        }

        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.Unavailable), "retryable for every OTLP SDK");
        Assert.That(refused.Status.Detail, Does.Contain("service.memory_limit"));
        Assert.That(refused.Trailers.Get("grpc-status-details-bin"), Is.Not.Null, "RetryInfo tells the SDK when to retry");
    }

    [Test]
    public async Task A_pipeline_with_memory_limiter_keeps_its_own_limit_and_the_others_get_the_default()
    {
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(port, "{ limit_mib: 1, check_interval: 50ms }", "[memory_limiter]"));
        using var http = new HttpClient();

        using (await PostUntilRefusedAsync(http, port, "/v1/logs", OtlpSamples.Logs(2)))
        {
        }

        for (var i = 0; i < 5; i++)
        {
            using var reply = await PostAsync(http, port, "/v1/traces", OtlpSamples.Traces(3));
            Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK), "traces has memory_limiter (limit_mib 1000000), so the default does not apply to it");
        }

        Assert.That(collector.Host.Metrics.Read("collector_pipeline_refused_spans_total", ("pipeline", "traces")), Is.Zero);
    }

    [Test]
    public async Task Enabled_false_switches_the_default_off()
    {
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(port, "{ enabled: false, limit_mib: 1, check_interval: 50ms }"));
        using var http = new HttpClient();

        // Ten check intervals: a gate would have refused long before the last request.
        var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        var answered = 0;
        while (DateTime.UtcNow < until || answered < 5)
        {
            using var reply = await PostAsync(http, port, "/v1/traces", OtlpSamples.Traces(3));
            Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            answered++;
        }

        Assert.That(collector.Host.Metrics.Registered(), Has.None.Matches<Collector.Pipeline.Telemetry.RegisteredMetric>(m => m!.Name.StartsWith("collector_service_memory_limit", StringComparison.Ordinal)));
    }
}
