using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Receiver;

public sealed class OtlpHttpReceiverTests
{
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    [Test]
    public async Task Protobuf_exports_of_all_three_signals_are_answered_in_protobuf()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var traces = OtlpSamples.Traces(3);
        var metrics = OtlpSamples.Metrics(4);
        var logs = OtlpSamples.Logs(5);

        using var traceReply = await h.PostAsync("/v1/traces", traces.ToByteArray(), Protobuf);
        using var metricReply = await h.PostAsync("/v1/metrics", metrics.ToByteArray(), Protobuf);
        using var logReply = await h.PostAsync("/v1/logs", logs.ToByteArray(), Protobuf);

        foreach (var reply in new[] { traceReply, metricReply, logReply })
        {
            Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(reply.Content.Headers.ContentType?.MediaType, Is.EqualTo(Protobuf));
        }

        Assert.That(ExportTraceServiceResponse.Parser.ParseFrom(await traceReply.Content.ReadAsByteArrayAsync()).PartialSuccess, Is.Null);
        Assert.That(h.Traces.Batches.Single().Resources, Is.EqualTo(traces.ResourceSpans));
        Assert.That(h.Traces.Batches.Single().ByteSize, Is.EqualTo(traces.CalculateSize()));
        Assert.That(h.Traces.Batches.Single().ClientAddress, Is.EqualTo("127.0.0.1"));
        Assert.That(h.MetricPoints.Batches.Single().Resources, Is.EqualTo(metrics.ResourceMetrics));
        Assert.That(h.MetricPoints.Batches.Single().ItemCount, Is.EqualTo(4));
        Assert.That(h.LogRecords.Batches.Single().Resources, Is.EqualTo(logs.ResourceLogs));
        Assert.That(h.Counter("collector_receiver_accepted_spans_total", ("transport", "http")), Is.EqualTo(3));
        Assert.That(h.Counter("collector_receiver_accepted_metric_points_total", ("transport", "http")), Is.EqualTo(4));
        Assert.That(h.Counter("collector_receiver_accepted_log_records_total", ("transport", "http")), Is.EqualTo(5));
    }

    [Test]
    public async Task Json_exports_of_all_three_signals_are_answered_in_json()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var traces = OtlpSamples.Traces(2);
        var metrics = OtlpSamples.Metrics(2);
        var logs = OtlpSamples.Logs(2);

        using var traceReply = await h.PostAsync("/v1/traces", OtlpJson.FormatUtf8(traces), "application/json; charset=utf-8");
        using var metricReply = await h.PostAsync("/v1/metrics", OtlpJson.FormatUtf8(metrics), Json);
        using var logReply = await h.PostAsync("/v1/logs", OtlpJson.FormatUtf8(logs), Json);

        foreach (var reply in new[] { traceReply, metricReply, logReply })
        {
            Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(reply.Content.Headers.ContentType?.MediaType, Is.EqualTo(Json));
            Assert.That(await reply.Content.ReadAsStringAsync(), Is.EqualTo("{}"));
        }

        Assert.That(h.Traces.Batches.Single().Resources, Is.EqualTo(traces.ResourceSpans));
        Assert.That(h.MetricPoints.Batches.Single().Resources, Is.EqualTo(metrics.ResourceMetrics));
        Assert.That(h.LogRecords.Batches.Single().Resources, Is.EqualTo(logs.ResourceLogs));
    }

    [TestCase("gzip")]
    [TestCase("deflate-zlib")]
    [TestCase("deflate-raw")]
    [TestCase("identity")]
    public async Task Compressed_bodies_are_decoded(string encoding)
    {
        await using var h = await ReceiverHarness.StartAsync();
        var request = OtlpSamples.Traces(20);
        var raw = request.ToByteArray();
        var (body, header) = encoding switch
        {
            "gzip" => (CompressionSamples.Gzip(raw), "gzip"),
            "deflate-zlib" => (CompressionSamples.Zlib(raw), "deflate"),
            "deflate-raw" => (CompressionSamples.RawDeflate(raw), "deflate"),
            _ => (raw, "identity"),
        };

        using var reply = await h.PostAsync("/v1/traces", body, Protobuf, header);

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(h.Traces.Batches.Single().Resources, Is.EqualTo(request.ResourceSpans));
        Assert.That(h.Traces.Batches.Single().ByteSize, Is.EqualTo(raw.Length), "byte size is measured after decompression");
    }

    [Test]
    public async Task Truncated_protobuf_is_400_with_a_status_body()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var bytes = OtlpSamples.Traces(3).ToByteArray();

        using var reply = await h.PostAsync("/v1/traces", bytes[..^7], Protobuf);

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(reply.Content.Headers.ContentType?.MediaType, Is.EqualTo(Protobuf));
        var status = GrpcTestSupport.ParseStatus(await reply.Content.ReadAsByteArrayAsync());
        Assert.That(status.Code, Is.EqualTo(3), "INVALID_ARGUMENT");
        Assert.That(status.Message, Does.Contain("undecodable"));
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "decode")), Is.EqualTo(1));
        await AssertStillServesAsync(h);
    }

    [TestCase("{\"resourceSpans\": [", TestName = "Invalid_json_syntax_is_400")]
    [TestCase("[1, 2, 3]", TestName = "Json_that_is_not_an_object_is_400")]
    [TestCase("{\"resourceSpans\": 5}", TestName = "Json_of_the_wrong_shape_is_400")]
    [TestCase("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}", TestName = "Json_with_a_non_hex_id_is_400")]
    [TestCase("{\"resourceSpans\":[],\"resourceSpans\":[]}", TestName = "Json_with_duplicate_keys_is_400")]
    public async Task Undecodable_json_is_400_with_a_json_status_body(string body)
    {
        await using var h = await ReceiverHarness.StartAsync();

        using var reply = await h.PostAsync("/v1/traces", Encoding.UTF8.GetBytes(body), Json);

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(reply.Content.Headers.ContentType?.MediaType, Is.EqualTo(Json));
        using var status = JsonDocument.Parse(await reply.Content.ReadAsStringAsync());
        Assert.That(status.RootElement.GetProperty("code").GetInt32(), Is.EqualTo(3));
        Assert.That(status.RootElement.GetProperty("message").GetString(), Is.Not.Empty);
        Assert.That(h.Traces.Batches, Is.Empty);
        await AssertStillServesAsync(h);
    }

    [TestCase("text/plain")]
    [TestCase("application/xml")]
    [TestCase(null)]
    public async Task Unsupported_content_type_is_415(string? contentType)
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var content = new ByteArrayContent(OtlpSamples.Traces(1).ToByteArray());
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var reply = await h.Http.PostAsync(new Uri(h.HttpBase, "/v1/traces"), content);

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("reason", "bad_content_type")), Is.EqualTo(1));
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Unsupported_content_encoding_is_415()
    {
        await using var h = await ReceiverHarness.StartAsync();

        using var reply = await h.PostAsync("/v1/traces", OtlpSamples.Traces(1).ToByteArray(), Protobuf, "br");

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Corrupt_gzip_is_400()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var gzip = CompressionSamples.Gzip(OtlpSamples.Traces(5).ToByteArray());
        gzip[gzip.Length / 2] ^= 0xFF;
        gzip[(gzip.Length / 2) + 1] ^= 0xFF;

        using var reply = await h.PostAsync("/v1/traces", gzip, Protobuf, "gzip");

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Other_methods_are_405_with_allow_post()
    {
        await using var h = await ReceiverHarness.StartAsync();

        using var get = await h.Http.GetAsync(new Uri(h.HttpBase, "/v1/traces"));
        using var put = await h.Http.PutAsync(new Uri(h.HttpBase, "/v1/logs"), ReceiverHarness.Content([], Protobuf));

        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(get.Content.Headers.Allow, Is.EqualTo(new[] { "POST" }));
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Unknown_paths_and_signals_without_pipeline_are_404()
    {
        var traces = new RecordingEntry<ResourceSpans>();
        await using var h = await ReceiverHarness.StartAsync(targets: new ReceiverTargets { Traces = [traces] });

        using var unknown = await h.PostAsync("/v1/profiles", [], Protobuf);
        using var noPipeline = await h.PostAsync("/v1/logs", OtlpSamples.Logs(1).ToByteArray(), Protobuf);
        using var ok = await h.PostAsync("/v1/traces", OtlpSamples.Traces(1).ToByteArray(), Protobuf);

        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(noPipeline.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(traces.Batches, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Body_over_the_limit_is_413()
    {
        await using var h = await ReceiverHarness.StartAsync(ReceiverHarness.DefaultConfig(maxMib: 1));
        var body = new byte[(1 << 20) + 1];

        var incompressible = new byte[(1 << 20) + 1];
        new Random(42).NextBytes(incompressible);

        using var plain = await h.PostAsync("/v1/traces", body, Protobuf);
        using var gzip = await h.PostAsync("/v1/traces", CompressionSamples.Gzip(body), Protobuf, "gzip");
        using var deflate = await h.PostAsync("/v1/traces", CompressionSamples.RawDeflate(incompressible), Protobuf, "deflate");

        Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(gzip.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), "the limit applies after decompression");
        Assert.That(deflate.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), "and to the compressed body on the wire");
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "too_large")), Is.EqualTo(3));
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Gzip_bomb_is_413_quickly_without_inflating_it()
    {
        var bomb = CompressionSamples.GzipBomb;
        await using var h = await ReceiverHarness.StartAsync(ReceiverHarness.DefaultConfig(maxMib: 4));

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        using var reply = await h.PostAsync("/v1/traces", bomb, Protobuf, "gzip");
        watch.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        Assert.That(bomb.Length, Is.LessThan(2 << 20), "the bomb is small on the wire");
        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(allocated, Is.LessThan(64L << 20), "decompression stops at the limit");
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Bearer_token_is_required_when_configured()
    {
        const string token = "http-s3cr3t";
        var config = ReceiverHarness.DefaultConfig();
        config.Auth = new() { BearerTokens = [token] };
        await using var h = await ReceiverHarness.StartAsync(config);
        var body = OtlpSamples.Traces(1).ToByteArray();

        using var missing = await h.PostAsync("/v1/traces", body, Protobuf);
        using var wrongRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(h.HttpBase, "/v1/traces")) { Content = ReceiverHarness.Content(body, Protobuf) };
        wrongRequest.Headers.TryAddWithoutValidation("Authorization", "Bearer http-s3cr3X");
        using var wrong = await h.Http.SendAsync(wrongRequest);
        using var rightRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(h.HttpBase, "/v1/traces")) { Content = ReceiverHarness.Content(body, Protobuf) };
        rightRequest.Headers.TryAddWithoutValidation("Authorization", $"bearer {token}");
        using var right = await h.Http.SendAsync(rightRequest);

        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(missing.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the scheme is case-insensitive");
        Assert.That(h.Traces.Batches, Has.Count.EqualTo(1));
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "unauthenticated")), Is.EqualTo(2));
        Assert.That(h.Logs.Lines.Where(l => l.Contains("s3cr3", StringComparison.Ordinal)), Is.Empty, "tokens never reach the logs");
    }

    [TestCase(2.5, "3")]
    [TestCase(0, "1")]
    public async Task Refused_submission_is_503_with_retry_after(double retryAfterSeconds, string expectedHeader)
    {
        await using var h = await ReceiverHarness.StartAsync();
        h.Traces.RefuseWithRetryAfter = TimeSpan.FromSeconds(retryAfterSeconds);

        using var refused = await h.PostAsync("/v1/traces", OtlpSamples.Traces(2).ToByteArray(), Protobuf);

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(refused.Headers.TryGetValues("Retry-After", out var values) ? values.Single() : null, Is.EqualTo(expectedHeader));
        Assert.That(GrpcTestSupport.ParseStatus(await refused.Content.ReadAsByteArrayAsync()).Code, Is.EqualTo(14), "UNAVAILABLE");
        Assert.That(h.Counter("collector_receiver_refused_spans_total", ("transport", "http")), Is.EqualTo(2));

        h.Traces.RefuseWithRetryAfter = null;
        await AssertStillServesAsync(h);
    }

    [Test]
    public async Task Invalid_ids_are_dropped_and_reported_as_partial_success_in_json()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var traces = OtlpSamples.Traces(3);
        traces.ResourceSpans[0].ScopeSpans[0].Spans[1].SpanId = ByteString.Empty;
        var logs = OtlpSamples.Logs(2);
        logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0].TraceId = ByteString.CopyFrom(new byte[8]);

        using var traceReply = await h.PostAsync("/v1/traces", OtlpJson.FormatUtf8(traces), Json);
        using var logReply = await h.PostAsync("/v1/logs", logs.ToByteArray(), Protobuf);

        Assert.That(traceReply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var traceResponse = OtlpJson.Parse(await traceReply.Content.ReadAsByteArrayAsync(), ExportTraceServiceResponse.Parser);
        Assert.That(traceResponse.PartialSuccess.RejectedSpans, Is.EqualTo(1));
        Assert.That(traceResponse.PartialSuccess.ErrorMessage, Does.Contain("1 spans dropped"));
        Assert.That(h.Traces.Batches.Single().ItemCount, Is.EqualTo(2));
        var logResponse = ExportLogsServiceResponse.Parser.ParseFrom(await logReply.Content.ReadAsByteArrayAsync());
        Assert.That(logResponse.PartialSuccess.RejectedLogRecords, Is.EqualTo(1));
        Assert.That(h.LogRecords.Batches.Single().ItemCount, Is.EqualTo(1));
    }

    [Test]
    public async Task A_request_whose_items_are_all_invalid_reaches_no_pipeline()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var traces = OtlpSamples.Traces(2);
        foreach (var span in traces.ResourceSpans[0].ScopeSpans[0].Spans)
        {
            span.TraceId = ByteString.Empty;
        }

        using var reply = await h.PostAsync("/v1/traces", traces.ToByteArray(), Protobuf);

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(ExportTraceServiceResponse.Parser.ParseFrom(await reply.Content.ReadAsByteArrayAsync()).PartialSuccess.RejectedSpans, Is.EqualTo(2));
        Assert.That(h.Traces.Batches, Is.Empty);
    }

    [Test]
    public async Task Asp_net_writes_nothing_below_warning_to_the_log()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using (await h.PostAsync("/v1/traces", OtlpSamples.Traces(1).ToByteArray(), Protobuf))
        using (await h.PostAsync("/v1/traces", [1, 2, 3], Protobuf))
        using (await h.Http.GetAsync(new Uri(h.HttpBase, "/nothing")))
        {
        }

        Assert.That(h.Logs.Lines.Where(l => l.Contains("Microsoft", StringComparison.Ordinal)), Is.Empty);
        Assert.That(h.Logs.Lines.Where(l => l.Contains("Rejected OTLP/HTTP", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(2), "the receiver's own debug lines do arrive");
    }

    private static async Task AssertStillServesAsync(ReceiverHarness h)
    {
        var before = h.Traces.Batches.Count;
        using var reply = await h.PostAsync("/v1/traces", OtlpSamples.Traces(1).ToByteArray(), Protobuf);
        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a valid request after a bad one");
        Assert.That(h.Traces.Batches, Has.Count.EqualTo(before + 1));
    }
}
