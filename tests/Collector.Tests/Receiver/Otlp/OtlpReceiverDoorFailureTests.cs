using System.Net;
using System.Text.Json;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Tests.Otlp;
using Google.Protobuf;
using Grpc.Core;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Receiver;

/// <summary>
/// Issue 14, loss paths 1 and 6 at the otlp receiver's door: one nesting limit on every transport
/// and encoding (what is accepted parses again with Google.Protobuf, one level more is refused and
/// counted), and running out of memory answers "retry" instead of UNKNOWN / INTERNAL.
/// </summary>
public sealed class OtlpReceiverDoorFailureTests
{
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    [TestCase(false)]
    [TestCase(true)]
    public async Task Grpc_takes_the_deepest_request_the_parser_reads_and_refuses_one_level_more_as_invalid_argument(bool kvlists)
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var client = new TraceService.TraceServiceClient(channel);
        var deepest = NestedValues.Traces(OtlpLimits.MaxMessageDepth, kvlists);

        await client.ExportAsync(deepest);
        var tooDeep = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1, kvlists)));
        var doubtedFirst = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(WithInvalidSpanFirst(NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1, kvlists))));
        await client.ExportAsync(OtlpSamples.Traces(2));

        foreach (var error in new[] { tooDeep!, doubtedFirst! })
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(error.Status.Detail, Does.Contain("nested deeper than 100 levels"));
        }

        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "grpc"), ("reason", "too_deep")), Is.EqualTo(2));
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "grpc"), ("reason", "decode")), Is.Zero);
        Assert.That(h.Counter("collector_receiver_accepted_spans_total", ("transport", "grpc")), Is.EqualTo(3), "the deepest and the other request delivered");
        AssertDeliveredAndReplayable(h.Traces.Batches, deepest);
    }

    [TestCase(Protobuf)]
    [TestCase(Json)]
    public async Task Http_takes_the_deepest_request_the_parser_reads_and_refuses_one_level_more_with_400(string contentType)
    {
        await using var h = await ReceiverHarness.StartAsync();
        var deepest = NestedValues.Traces(OtlpLimits.MaxMessageDepth, kvlists: true);
        byte[] Body(IMessage request) => contentType == Json ? OtlpJson.FormatUtf8(request) : request.ToByteArray();

        using var accepted = await h.PostAsync("/v1/traces", Body(deepest), contentType);
        using var tooDeep = await h.PostAsync("/v1/traces", Body(NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1)), contentType);
        using var doubtedFirst = await h.PostAsync("/v1/traces", Body(WithInvalidSpanFirst(NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1))), contentType);
        using var other = await h.PostAsync("/v1/traces", Body(OtlpSamples.Traces(2)), contentType);

        Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        foreach (var refused in new[] { tooDeep, doubtedFirst })
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            var (code, message) = await StatusOf(refused, contentType);
            Assert.That(code, Is.EqualTo(3), "INVALID_ARGUMENT");
            Assert.That(message, Does.Contain("nested deeper than 100 levels"));
        }

        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "too_deep")), Is.EqualTo(2));
        Assert.That(h.Counter("collector_receiver_accepted_spans_total", ("transport", "http")), Is.EqualTo(3));
        AssertDeliveredAndReplayable(h.Traces.Batches, deepest);
    }

    [TestCase(typeof(OutOfMemoryException))]
    [TestCase(typeof(InsufficientExecutionStackException))]
    public async Task Out_of_memory_in_a_pipeline_is_unavailable_with_retry_info_over_grpc_and_the_receiver_keeps_serving(Type exception)
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var client = new TraceService.TraceServiceClient(channel);
        h.Traces.ThrowOnSubmit = () => (Exception)Activator.CreateInstance(exception, "test: heap hard limit")!;

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(OtlpSamples.Traces(2)));
        // The decoded path (a span with invalid ids) goes the same way.
        var decoded = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(WithInvalidSpanFirst(OtlpSamples.Traces(2))));

        foreach (var refused in new[] { error!, decoded! })
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.Unavailable), "SDKs retry UNAVAILABLE, not UNKNOWN or INTERNAL");
            Assert.That(refused.Status.Detail, Does.Contain("out of memory"));
            var status = GrpcTestSupport.ParseStatus(refused.Trailers.GetValueBytes("grpc-status-details-bin")!);
            var retryInfo = status.Details.Single();
            Assert.That(retryInfo.TypeUrl, Is.EqualTo("type.googleapis.com/google.rpc.RetryInfo"));
            Assert.That(GrpcTestSupport.RetryDelay(retryInfo.Value), Is.EqualTo(TimeSpan.FromSeconds(1)));
        }

        Assert.That(h.Counter("collector_receiver_refused_spans_total", ("transport", "grpc")), Is.EqualTo(4));
        h.Traces.ThrowOnSubmit = null;
        await OtlpGrpcReceiverTests.AssertStillServesAsync(h, channel);
    }

    [TestCase(Protobuf)]
    [TestCase(Json)]
    public async Task Out_of_memory_in_a_pipeline_is_503_with_retry_after_over_http_and_the_receiver_keeps_serving(string contentType)
    {
        await using var h = await ReceiverHarness.StartAsync();
        h.Traces.ThrowOnSubmit = static () => new OutOfMemoryException("test: heap hard limit");
        var request = OtlpSamples.Traces(2);
        var body = contentType == Json ? OtlpJson.FormatUtf8(request) : request.ToByteArray();

        using (var refused = await h.PostAsync("/v1/traces", body, contentType))
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(refused.Headers.TryGetValues("Retry-After", out var values) ? values.Single() : null, Is.EqualTo("1"));
            var (code, message) = await StatusOf(refused, contentType);
            Assert.That(code, Is.EqualTo(14), "UNAVAILABLE");
            Assert.That(message, Does.Contain("out of memory"));
        }

        Assert.That(h.Counter("collector_receiver_refused_spans_total", ("transport", "http")), Is.EqualTo(2));
        h.Traces.ThrowOnSubmit = null;
        using var retried = await h.PostAsync("/v1/traces", body, contentType);
        Assert.That(retried.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(h.Traces.Batches.Single().Resources, Is.EqualTo(request.ResourceSpans), "the retry delivers what was refused");
    }

    /// <summary>A span without ids before the others: the wire scan stops there, so the request takes the decode path.</summary>
    private static ExportTraceServiceRequest WithInvalidSpanFirst(ExportTraceServiceRequest request)
    {
        request.ResourceSpans[0].ScopeSpans[0].Spans.Insert(0, new Span { Name = "no ids" });
        return request;
    }

    private static void AssertDeliveredAndReplayable(IReadOnlyList<Batch<ResourceSpans>> batches, ExportTraceServiceRequest deepest)
    {
        Assert.That(batches, Has.Count.EqualTo(2));
        var bytes = batches[0].ToRequestBytes();
        var replayed = ExportTraceServiceRequest.Parser.ParseFrom(bytes);
        Assert.That(replayed, Is.EqualTo(deepest), "what was accepted parses again with the parser's defaults (spool replay, a peer)");
        Assert.That(NestedValues.DepthOf(replayed), Is.EqualTo(OtlpLimits.MaxMessageDepth));
    }

    private static async Task<(int Code, string Message)> StatusOf(HttpResponseMessage reply, string contentType)
    {
        var bytes = await reply.Content.ReadAsByteArrayAsync();
        if (contentType == Json)
        {
            using var json = JsonDocument.Parse(bytes);
            return (json.RootElement.GetProperty("code").GetInt32(), json.RootElement.GetProperty("message").GetString()!);
        }

        var status = GrpcTestSupport.ParseStatus(bytes);
        return (status.Code, status.Message);
    }
}
