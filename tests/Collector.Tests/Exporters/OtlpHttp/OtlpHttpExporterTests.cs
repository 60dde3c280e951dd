using System.Text;
using Collector.Exporters.OtlpHttp;
using Collector.Exporters.Shared;
using Collector.Pipeline.Otlp;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog.Events;

namespace Collector.Tests.Exporters;

public sealed class OtlpHttpExporterTests : ExporterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly OtlpHttpExporterFactory _factory = new();

    private static OtlpHttpExporterConfig Config(string endpoint, int maxAttempts = 3)
    {
        var config = new OtlpHttpExporterConfig { Endpoint = endpoint };
        ExporterTestKit.FastRetry(config, maxAttempts);
        return config;
    }

    [Test]
    public async Task Proto_gzip_posts_each_signal_to_its_path_with_headers()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl);
        config.Headers["Authorization"] = "Bearer secret-token-123";

        var traces = await StartExporterAsync<ResourceSpans>(_factory, config);
        var metrics = await StartExporterAsync<ResourceMetrics>(_factory, config);
        var logs = await StartExporterAsync<ResourceLogs>(_factory, config);
        await traces.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        await metrics.ConsumeAsync(ExporterTestKit.MetricPoints(4), CancellationToken.None);
        await logs.ConsumeAsync(ExporterTestKit.LogRecords(5), CancellationToken.None);

        await Poll.UntilAsync(() => backend.Calls.Count == 3, Deadline, "three POSTs");
        var calls = backend.Calls.ToDictionary(c => c.Path);
        Assert.That(calls.Keys, Is.EquivalentTo(new[] { "/v1/traces", "/v1/metrics", "/v1/logs" }));
        Assert.That(ExportTraceServiceRequest.Parser.ParseFrom(calls["/v1/traces"].Body).ResourceSpans[0].ScopeSpans[0].Spans, Has.Count.EqualTo(3));
        Assert.That(ExportMetricsServiceRequest.Parser.ParseFrom(calls["/v1/metrics"].Body).ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Gauge.DataPoints, Has.Count.EqualTo(4));
        Assert.That(ExportLogsServiceRequest.Parser.ParseFrom(calls["/v1/logs"].Body).ResourceLogs[0].ScopeLogs[0].LogRecords, Has.Count.EqualTo(5));
        foreach (var call in calls.Values)
        {
            Assert.That(call.ContentType, Is.EqualTo("application/x-protobuf"));
            Assert.That(call.ContentEncoding, Is.EqualTo("gzip"));
            Assert.That(call.Headers["Authorization"], Is.EqualTo("Bearer secret-token-123"));
            Assert.That(call.Headers["User-Agent"], Does.Contain("Collector-OTLP-Exporter"));
        }

        await Poll.UntilAsync(() => Kit.Sent("spans") == 3 && Kit.Sent("metric_points") == 4 && Kit.Sent("log_records") == 5, Deadline, "sent counters");
    }

    [Test]
    public async Task Json_without_compression_uses_hex_ids()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl);
        config.Encoding = OtlpEncoding.Json;
        config.Compression = OtlpCompression.None;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 2, Deadline, "delivery");
        var call = backend.Calls.Single();
        Assert.That(call.ContentType, Is.EqualTo("application/json"));
        Assert.That(call.ContentEncoding, Is.Null);
        Assert.That(Encoding.UTF8.GetString(call.Body), Does.Contain("\"traceId\":\"0102030405060708090a0b0c0d0e0f10\""));
        var request = OtlpJson.Parse(call.Body, ExportTraceServiceRequest.Parser);
        Assert.That(request.ResourceSpans[0].ScopeSpans[0].Spans.Select(s => s.Name), Is.EqualTo(new[] { "span-0", "span-1" }));
    }

    [Test]
    public async Task Json_gzip_is_decodable_by_the_server()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl);
        config.Encoding = OtlpEncoding.Json;
        var exporter = await StartExporterAsync<ResourceLogs>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.LogRecords(3), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent("log_records") == 3, Deadline, "delivery");
        var call = backend.Calls.Single();
        Assert.That(call.ContentEncoding, Is.EqualTo("gzip"));
        Assert.That(OtlpJson.Parse(call.Body, ExportLogsServiceRequest.Parser).ResourceLogs[0].ScopeLogs[0].LogRecords, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Base_path_is_kept_and_signal_endpoint_overrides_it()
    {
        var backend = await HttpBackendAsync();
        var config = Config(backend.BaseUrl + "/otlp/");
        config.LogsEndpoint = backend.BaseUrl + "/custom/logs";
        var traces = await StartExporterAsync<ResourceSpans>(_factory, config);
        var logs = await StartExporterAsync<ResourceLogs>(_factory, config);

        await traces.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);
        await logs.ConsumeAsync(ExporterTestKit.LogRecords(1), CancellationToken.None);

        await Poll.UntilAsync(() => backend.Calls.Count == 2, Deadline, "two POSTs");
        Assert.That(backend.Calls.Select(c => c.Path), Is.EquivalentTo(new[] { "/otlp/v1/traces", "/custom/logs" }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Partial_success_is_read_in_the_response_encoding(bool json)
    {
        var backend = await HttpBackendAsync();
        backend.PartialRejected = 1;
        var config = Config(backend.BaseUrl);
        config.Encoding = json ? OtlpEncoding.Json : OtlpEncoding.Proto;
        var exporter = await StartExporterAsync<ResourceMetrics>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.MetricPoints(4), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent("metric_points") == 3, Deadline, "accepted points counted");
        Assert.That(Kit.Failed("partial_rejected", "metric_points"), Is.EqualTo(1));
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("bad points"));
    }

    [Test]
    public async Task Status_503_then_200_is_delivered_after_a_retry()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503));
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 2, Deadline, "delivery after retry");
        Assert.That(backend.Calls, Has.Count.EqualTo(2));
        Assert.That(Kit.Retries, Is.EqualTo(1));
    }

    [Test]
    public async Task Status_429_with_retry_after_waits_the_servers_delay()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(429, RetryAfter: "2"));
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 1, Deadline, "delivery after Retry-After");
        var calls = backend.Calls.ToArray();
        Assert.That(calls, Has.Length.EqualTo(2));
        // Timer granularity may fire a few ms early; the backoff alone would have been 50 ms.
        Assert.That(Between(calls[0].Timestamp, calls[1].Timestamp), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2) - TimeSpan.FromMilliseconds(20)));
    }

    [Test]
    public async Task Status_400_is_permanent_one_attempt_logged_once()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(400), times: 10);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("permanent") == 5, Deadline, "permanent drops counted");
        Assert.That(backend.Calls, Has.Count.EqualTo(2), "one attempt per batch");
        Assert.That(Kit.Retries, Is.Zero);
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Error).Count(l => l.Contains("HTTP 400", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task Persistent_503_ends_as_retries_exhausted_after_max_attempts()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503), times: 10);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.BaseUrl, maxAttempts: 3));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(4), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("retries_exhausted") == 4, Deadline, "retries exhausted");
        Assert.That(backend.Calls, Has.Count.EqualTo(3));
        Assert.That(Kit.Retries, Is.EqualTo(2));
    }

    [Test]
    public async Task Slow_backend_beyond_timeout_is_retried_then_succeeds()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(200, Delay: TimeSpan.FromSeconds(5)));
        var config = Config(backend.BaseUrl);
        config.Timeout = TimeSpan.FromMilliseconds(500);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 2, Deadline, "delivery after a timed-out attempt");
        Assert.That(backend.Calls, Has.Count.EqualTo(2));
        Assert.That(Kit.Retries, Is.EqualTo(1));
    }

    [Test]
    public async Task Connection_refused_is_retryable()
    {
        var port = ClosedPort();
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config($"http://127.0.0.1:{port}", maxAttempts: 2));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("retries_exhausted") == 3, Deadline, "retries exhausted");
        Assert.That(Kit.Retries, Is.EqualTo(1));
        Assert.That(Kit.Failed("permanent"), Is.Zero);
        var warning = Kit.Logs.Rendered(Serilog.Events.LogEventLevel.Warning).Single(l => l.Contains("after retries", StringComparison.Ordinal));
        Assert.That(warning, Does.Contain($"127.0.0.1:{port}"), "the error names the endpoint");
    }
}
