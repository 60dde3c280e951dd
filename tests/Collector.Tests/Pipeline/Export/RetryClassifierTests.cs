using System.Net;
using Collector.Exporters.OtlpHttp;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Telemetry;
using Grpc.Core;
using ResourceSpans = OpenTelemetry.Proto.Trace.V1.ResourceSpans;

namespace Collector.Tests.Exporters;

public sealed class RetryClassifierTests : ExporterTestBase
{
    [Test]
    public void Out_of_memory_while_sending_is_retryable_never_permanent()
    {
        // Issue 14, loss path 6: under a heap limit these were "permanent" and the batches dropped.
        Assert.That(RetryClassifier.FromException(new OutOfMemoryException("heap hard limit")).Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(RetryClassifier.FromException(new InsufficientMemoryException()).Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(RetryClassifier.FromException(new InsufficientExecutionStackException()).Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(RetryClassifier.FromException(new InvalidOperationException("a bug")).Outcome, Is.EqualTo(ExportOutcome.Permanent), "other exceptions stay permanent");
    }

    [Test]
    public async Task A_sender_that_runs_out_of_memory_once_is_retried_and_delivers()
    {
        var backend = await HttpBackendAsync();
        var config = new OtlpHttpExporterConfig { Endpoint = backend.BaseUrl };
        ExporterTestKit.FastRetry(config);
        using var http = new OtlpHttpSender<ResourceSpans>(config);
        var flaky = new OutOfMemoryOnce(http);
        var retries = new Counter();
        var retry = new RetrySender<ResourceSpans>(new TimeoutSender<ResourceSpans>(flaky, config.Timeout), config.RetryOnFailure, retries, stopRetrying: () => false);

        var (outcome, _) = await retry.SendAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.Delivered));
        Assert.That(flaky.Attempts, Is.EqualTo(2));
        Assert.That(retries.Count, Is.EqualTo(1));
        Assert.That(backend.Calls, Has.Count.EqualTo(1), "the second attempt reached the backend");
    }

    [TestCase(429, ExportOutcome.Retryable)]
    [TestCase(502, ExportOutcome.Retryable)]
    [TestCase(503, ExportOutcome.Retryable)]
    [TestCase(504, ExportOutcome.Retryable)]
    [TestCase(400, ExportOutcome.Permanent)]
    [TestCase(401, ExportOutcome.Permanent)]
    [TestCase(403, ExportOutcome.Permanent)]
    [TestCase(404, ExportOutcome.Permanent)]
    [TestCase(413, ExportOutcome.Permanent)]
    [TestCase(500, ExportOutcome.Permanent)]
    [TestCase(501, ExportOutcome.Permanent)]
    public void Http_status_follows_the_otlp_table(int status, ExportOutcome expected) =>
        Assert.That(RetryClassifier.FromHttpStatus(status, null).Outcome, Is.EqualTo(expected));

    [TestCase(StatusCode.Unavailable, ExportOutcome.Retryable)]
    [TestCase(StatusCode.DeadlineExceeded, ExportOutcome.Retryable)]
    [TestCase(StatusCode.Cancelled, ExportOutcome.Retryable)]
    [TestCase(StatusCode.Aborted, ExportOutcome.Retryable)]
    [TestCase(StatusCode.OutOfRange, ExportOutcome.Retryable)]
    [TestCase(StatusCode.DataLoss, ExportOutcome.Retryable)]
    [TestCase(StatusCode.ResourceExhausted, ExportOutcome.Permanent)]
    [TestCase(StatusCode.InvalidArgument, ExportOutcome.Permanent)]
    [TestCase(StatusCode.Unauthenticated, ExportOutcome.Permanent)]
    [TestCase(StatusCode.PermissionDenied, ExportOutcome.Permanent)]
    [TestCase(StatusCode.Unimplemented, ExportOutcome.Permanent)]
    [TestCase(StatusCode.Internal, ExportOutcome.Permanent)]
    [TestCase(StatusCode.Unknown, ExportOutcome.Permanent)]
    public void Grpc_status_follows_the_otlp_table(StatusCode code, ExportOutcome expected) =>
        Assert.That(RetryClassifier.FromGrpcStatus(code, "x", null).Outcome, Is.EqualTo(expected));

    [Test]
    public void Resource_exhausted_with_retry_info_is_retryable_with_its_delay()
    {
        var trailers = new Metadata { { "grpc-status-details-bin", GrpcTestBackend.EncodeStatusWithRetryInfo(StatusCode.ResourceExhausted, TimeSpan.FromMilliseconds(1500)) } };

        var result = RetryClassifier.FromException(new RpcException(new Status(StatusCode.ResourceExhausted, "quota"), trailers));

        Assert.That(result.Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(result.RetryAfter, Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
    }

    [Test]
    public void Status_details_parse_reads_message_and_retry_info()
    {
        var bytes = GrpcTestBackend.EncodeStatusWithRetryInfo(StatusCode.Unavailable, TimeSpan.FromSeconds(3));

        Assert.That(RpcStatusDetails.TryParse(bytes, out var message, out var hasRetryInfo, out var delay), Is.True);
        Assert.That(message, Is.EqualTo("slow down"));
        Assert.That(hasRetryInfo, Is.True);
        Assert.That(delay, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(RpcStatusDetails.TryParse([0x1a, 0x05, 0x01], out _, out _, out _), Is.False, "truncated input");
    }

    [Test]
    public void Retry_after_accepts_seconds_and_http_dates()
    {
        var now = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.That(RetryClassifier.ParseRetryAfter("2", now), Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(RetryClassifier.ParseRetryAfter(now.AddSeconds(30).ToString("r"), now), Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(RetryClassifier.ParseRetryAfter(now.AddSeconds(-30).ToString("r"), now), Is.EqualTo(TimeSpan.Zero));
        Assert.That(RetryClassifier.ParseRetryAfter("soon", now), Is.Null);
        Assert.That(RetryClassifier.ParseRetryAfter(null, now), Is.Null);
    }

    [Test]
    public void Http_response_retry_after_is_read()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Retry-After", "7");

        var result = RetryClassifier.FromHttpResponse(response, "rate limited");

        Assert.That(result.Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(result.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(7)));
        Assert.That(result.Error, Is.EqualTo("HTTP 429: rate limited"));
    }

    [Test]
    public void Network_errors_are_retryable_and_bugs_permanent()
    {
        Assert.That(RetryClassifier.FromException(new HttpRequestException("connection refused")).Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(RetryClassifier.FromException(new System.Net.Sockets.SocketException(111)).Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(RetryClassifier.FromException(new InvalidOperationException("bug")).Outcome, Is.EqualTo(ExportOutcome.Permanent));
    }

    [Test]
    public void Grpc_internal_from_a_failed_connection_is_retryable_but_from_the_server_permanent()
    {
        var handshake = new HttpRequestException("The SSL connection could not be established", new System.Security.Authentication.AuthenticationException("untrusted root"));
        var transport = RetryClassifier.FromException(new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call", handshake)));
        var server = RetryClassifier.FromException(new RpcException(new Status(StatusCode.Internal, "server bug")));

        Assert.That(transport.Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(server.Outcome, Is.EqualTo(ExportOutcome.Permanent));
    }

    [Test]
    public void Transport_error_text_keeps_the_inner_cause()
    {
        var result = RetryClassifier.FromException(new HttpRequestException("The SSL connection could not be established, see inner exception.", new System.Security.Authentication.AuthenticationException("untrusted root")));

        Assert.That(result.Error, Does.Contain("AuthenticationException: untrusted root"));
    }

    /// <summary>Throws OutOfMemoryException on the first attempt (a heap limit hit mid-send), then sends for real.</summary>
    private sealed class OutOfMemoryOnce(IExportSender<ResourceSpans> next) : IExportSender<ResourceSpans>
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public Task<ExportResult> SendAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _attempts) == 1
                ? throw new OutOfMemoryException("test: heap hard limit")
                : next.SendAsync(batch, cancellationToken);
    }
}
