using Collector.Exporters.Otlp;
using Collector.Exporters.Shared;
using Collector.Tests.TestSupport;
using Grpc.Core;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Exporters;

public sealed class OtlpGrpcExporterTests : ExporterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly OtlpExporterFactory _factory = new();

    private static OtlpExporterConfig Config(string endpoint, int maxAttempts = 3)
    {
        var config = new OtlpExporterConfig { Endpoint = endpoint };
        ExporterTestKit.FastRetry(config, maxAttempts);
        return config;
    }

    [Test]
    public async Task Delivers_all_three_signals_with_headers_and_gzip()
    {
        var backend = await GrpcBackendAsync();
        var config = Config(backend.Endpoint);
        config.Headers["Authorization"] = "Bearer secret-token-123";
        config.Headers["x-tenant"] = "acme";

        var traces = await StartExporterAsync<ResourceSpans>(_factory, config);
        var metrics = await StartExporterAsync<ResourceMetrics>(_factory, config);
        var logs = await StartExporterAsync<ResourceLogs>(_factory, config);
        await traces.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);
        await metrics.ConsumeAsync(ExporterTestKit.MetricPoints(4), CancellationToken.None);
        await logs.ConsumeAsync(ExporterTestKit.LogRecords(5), CancellationToken.None);

        await Poll.UntilAsync(() => backend.Calls.Count == 3, Deadline, "three export calls");
        var calls = backend.Calls.ToDictionary(c => c.Service);
        Assert.That(((ExportTraceServiceRequest)calls["traces"].Request).ResourceSpans[0].ScopeSpans[0].Spans, Has.Count.EqualTo(3));
        Assert.That(((ExportMetricsServiceRequest)calls["metrics"].Request).ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Gauge.DataPoints, Has.Count.EqualTo(4));
        Assert.That(((ExportLogsServiceRequest)calls["logs"].Request).ResourceLogs[0].ScopeLogs[0].LogRecords, Has.Count.EqualTo(5));
        foreach (var call in calls.Values)
        {
            Assert.That(call.Headers.GetValue("authorization"), Is.EqualTo("Bearer secret-token-123"));
            Assert.That(call.Headers.GetValue("x-tenant"), Is.EqualTo("acme"));
            Assert.That(call.GrpcEncoding, Is.EqualTo("gzip"));
        }

        await Poll.UntilAsync(() => Kit.Sent("spans") == 3 && Kit.Sent("metric_points") == 4 && Kit.Sent("log_records") == 5, Deadline, "sent counters");
        Assert.That(string.Join('\n', Kit.Logs.Rendered()), Does.Not.Contain("secret-token-123"));
    }

    [Test]
    public async Task Compression_none_sends_uncompressed()
    {
        var backend = await GrpcBackendAsync();
        var config = Config(backend.Endpoint);
        config.Compression = OtlpCompression.None;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        await Poll.UntilAsync(() => backend.Calls.Count == 1, Deadline, "one call");
        Assert.That(backend.Calls.Single().GrpcEncoding, Is.Null.Or.EqualTo("identity"));
    }

    [Test]
    public async Task Partial_success_counts_rejected_items_and_logs_once()
    {
        var backend = await GrpcBackendAsync();
        backend.PartialRejected = 2;
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.Endpoint));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(5), CancellationToken.None);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(5), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 6, Deadline, "accepted spans counted");
        Assert.That(Kit.Failed("partial_rejected"), Is.EqualTo(4));
        Assert.That(backend.Calls, Has.Count.EqualTo(2), "partial success is not retried");
        Assert.That(Kit.Logs.Rendered().Count(l => l.Contains("some items were invalid", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task Invalid_argument_is_permanent_one_attempt()
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(StatusCode.InvalidArgument), times: 5);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.Endpoint));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("permanent") == 2, Deadline, "permanent drop counted");
        Assert.That(backend.Calls, Has.Count.EqualTo(1));
        Assert.That(Kit.Retries, Is.Zero);
        Assert.That(Kit.Sent(), Is.Zero);
    }

    [Test]
    public async Task Unavailable_is_retried_until_delivered()
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(StatusCode.Unavailable), times: 2);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.Endpoint));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 3, Deadline, "delivery after retries");
        Assert.That(backend.Calls, Has.Count.EqualTo(3));
        Assert.That(Kit.Retries, Is.EqualTo(2));
    }

    [Test]
    public async Task Resource_exhausted_without_retry_info_is_not_retried()
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(StatusCode.ResourceExhausted), times: 3);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.Endpoint));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("permanent") == 1, Deadline, "permanent drop counted");
        Assert.That(backend.Calls, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Resource_exhausted_with_retry_info_is_retried_after_the_given_delay()
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(StatusCode.ResourceExhausted, RetryInfoDelay: TimeSpan.FromMilliseconds(400)));
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.Endpoint));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 1, Deadline, "delivery after RetryInfo delay");
        var calls = backend.Calls.ToArray();
        Assert.That(calls, Has.Length.EqualTo(2));
        // The backoff alone would be 50 ms; the server's RetryInfo asked for 400 ms.
        Assert.That(Between(calls[0].Timestamp, calls[1].Timestamp), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(390)));
    }

    [Test]
    public async Task Slow_backend_beyond_timeout_is_retried_then_succeeds()
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(Delay: TimeSpan.FromSeconds(5)));
        var config = Config(backend.Endpoint);
        config.Timeout = TimeSpan.FromMilliseconds(500);
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == 2, Deadline, "delivery after a timed-out attempt");
        Assert.That(backend.Calls, Has.Count.EqualTo(2));
        Assert.That(Kit.Retries, Is.EqualTo(1));
    }

    [Test]
    public async Task Unreachable_backend_is_retryable_and_ends_as_retries_exhausted_naming_the_endpoint()
    {
        var port = ClosedPort();
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config($"127.0.0.1:{port}", maxAttempts: 2));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("retries_exhausted") == 3, Deadline, "retries exhausted");
        Assert.That(Kit.Retries, Is.EqualTo(1));
        Assert.That(Kit.Failed("permanent"), Is.Zero);

        // As the otlphttp exporter's connection errors do: the operator sees which backend is down.
        var warning = Kit.Logs.Rendered(Serilog.Events.LogEventLevel.Warning).Single(l => l.Contains("after retries", StringComparison.Ordinal));
        Assert.That(warning, Does.Contain($"127.0.0.1:{port}"));
    }

    [Test]
    public async Task A_status_error_names_the_endpoint_once()
    {
        var backend = await GrpcBackendAsync();
        backend.Enqueue(new GrpcFault(StatusCode.InvalidArgument));
        var exporter = await StartExporterAsync<ResourceSpans>(_factory, Config(backend.Endpoint));

        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("permanent") == 1, Deadline, "dropped as permanent");
        var error = Kit.Logs.Rendered(Serilog.Events.LogEventLevel.Error).Single();
        var authority = backend.Endpoint; // host:port
        Assert.That(error, Does.Contain("InvalidArgument: injected by the test backend").And.Contain(authority));
        Assert.That(error.Split(authority).Length - 1, Is.EqualTo(1), "named once");
    }
}
