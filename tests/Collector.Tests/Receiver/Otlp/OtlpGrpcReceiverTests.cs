using System.Diagnostics;
using Collector.Pipeline;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Receiver;

public sealed class OtlpGrpcReceiverTests
{
    [Test]
    public async Task Exports_traces_metrics_and_logs_through_the_generated_clients()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var traces = OtlpSamples.Traces(3);
        var metrics = OtlpSamples.Metrics(4);
        var logs = OtlpSamples.Logs(5);

        var traceReply = await new TraceService.TraceServiceClient(channel).ExportAsync(traces);
        var metricReply = await new MetricsService.MetricsServiceClient(channel).ExportAsync(metrics);
        var logReply = await new LogsService.LogsServiceClient(channel).ExportAsync(logs);

        Assert.That(traceReply.PartialSuccess, Is.Null);
        Assert.That(metricReply.PartialSuccess, Is.Null);
        Assert.That(logReply.PartialSuccess, Is.Null);

        var spanBatch = h.Traces.Batches.Single();
        Assert.That(spanBatch.ItemCount, Is.EqualTo(3));
        Assert.That(spanBatch.Resources, Is.EqualTo(traces.ResourceSpans));
        Assert.That(spanBatch.ByteSize, Is.EqualTo(traces.CalculateSize()));
        Assert.That(spanBatch.ClientAddress, Is.EqualTo("127.0.0.1"));
        Assert.That(h.MetricPoints.Batches.Single().ItemCount, Is.EqualTo(4));
        Assert.That(h.MetricPoints.Batches.Single().Resources, Is.EqualTo(metrics.ResourceMetrics));
        Assert.That(h.LogRecords.Batches.Single().ItemCount, Is.EqualTo(5));
        Assert.That(h.LogRecords.Batches.Single().Resources, Is.EqualTo(logs.ResourceLogs));

        Assert.That(h.Counter("collector_receiver_accepted_spans_total", ("transport", "grpc")), Is.EqualTo(3));
        Assert.That(h.Counter("collector_receiver_accepted_metric_points_total", ("transport", "grpc")), Is.EqualTo(4));
        Assert.That(h.Counter("collector_receiver_accepted_log_records_total", ("transport", "grpc")), Is.EqualTo(5));
        Assert.That(h.Counter("collector_receiver_accepted_spans_total", ("transport", "http")), Is.Zero);
    }

    [Test]
    public async Task Gzip_compressed_requests_are_decompressed()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var request = OtlpSamples.Traces(50);

        await new TraceService.TraceServiceClient(channel).ExportAsync(request, GrpcTestSupport.GzipRequestHeaders());

        Assert.That(h.Traces.Batches.Single().Resources, Is.EqualTo(request.ResourceSpans));
    }

    [Test]
    public async Task Messages_up_to_the_limit_are_accepted_on_both_transports()
    {
        await using var h = await ReceiverHarness.StartAsync(ReceiverHarness.DefaultConfig(maxMib: 4));
        using var channel = h.CreateChannel();
        var request = OtlpSamples.Traces(1);
        request.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes.Add(new OpenTelemetry.Proto.Common.V1.KeyValue
        {
            Key = "gen_ai.prompt",
            Value = new() { StringValue = new string('p', 3 << 20) },
        });

        await new TraceService.TraceServiceClient(channel).ExportAsync(request);
        using var reply = await h.PostAsync("/v1/traces", request.ToByteArray(), "application/x-protobuf");

        Assert.That(request.CalculateSize(), Is.GreaterThan(3 << 20).And.LessThan(4 << 20));
        Assert.That(reply.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        Assert.That(h.Traces.Batches, Has.Count.EqualTo(2));
        Assert.That(h.Traces.Batches.All(b => b.Resources.Equals(request.ResourceSpans)), Is.True);
    }

    [Test]
    public async Task Gzip_bomb_is_resource_exhausted_without_inflating_it()
    {
        var bomb = CompressionSamples.GzipBomb;
        await using var h = await ReceiverHarness.StartAsync(ReceiverHarness.DefaultConfig(maxMib: 4));
        using var channel = h.CreateChannel(new GrpcChannelOptions { CompressionProviders = [new GrpcTestSupport.PrecompressedGzipProvider()] });
        var invoker = channel.CreateCallInvoker();

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await invoker.AsyncUnaryCall(GrpcTestSupport.RawExport(), null, new CallOptions(GrpcTestSupport.GzipRequestHeaders()), bomb));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(allocated, Is.LessThan(64L << 20), "the 1 GiB payload must not be inflated in memory");
        Assert.That(h.Traces.Batches, Is.Empty);
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "grpc"), ("reason", "too_large")), Is.EqualTo(1));

        await AssertStillServesAsync(h, channel);
    }

    [Test]
    public async Task Message_over_the_wire_limit_is_resource_exhausted()
    {
        await using var h = await ReceiverHarness.StartAsync(ReceiverHarness.DefaultConfig(maxMib: 1));
        using var channel = h.CreateChannel();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CreateCallInvoker().AsyncUnaryCall(GrpcTestSupport.RawExport(), null, default, new byte[(1 << 20) + 1]));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        await AssertStillServesAsync(h, channel);
    }

    [Test]
    public async Task Undecodable_message_is_invalid_argument()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var bytes = OtlpSamples.Traces(3).ToByteArray();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CreateCallInvoker().AsyncUnaryCall(GrpcTestSupport.RawExport(), null, default, bytes[..^5]));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "grpc"), ("reason", "decode")), Is.EqualTo(1));
        await AssertStillServesAsync(h, channel);
    }

    [Test]
    public async Task Bearer_token_is_required_when_configured()
    {
        const string token = "s3cr3t-t0ken-value";
        var config = ReceiverHarness.DefaultConfig();
        config.Auth = new() { BearerTokens = ["other-token", token] };
        await using var h = await ReceiverHarness.StartAsync(config);
        using var channel = h.CreateChannel();
        var client = new TraceService.TraceServiceClient(channel);

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(OtlpSamples.Traces(1)));
        var wrong = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.ExportAsync(OtlpSamples.Traces(1), new Metadata { { "authorization", "Bearer s3cr3t-t0ken-valuX" } }));
        await client.ExportAsync(OtlpSamples.Traces(2), new Metadata { { "authorization", $"Bearer {token}" } });

        Assert.That(missing!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(wrong!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(h.Traces.Batches.Single().ItemCount, Is.EqualTo(2));
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "grpc"), ("reason", "unauthenticated")), Is.EqualTo(2));
        Assert.That(h.Logs.Lines, Is.Not.Empty);
        Assert.That(h.Logs.Lines.Where(l => l.Contains("s3cr3t", StringComparison.Ordinal)), Is.Empty, "tokens never reach the logs");
    }

    [Test]
    public async Task Refused_submission_is_unavailable_with_retry_info()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var client = new TraceService.TraceServiceClient(channel);
        h.Traces.RefuseWithRetryAfter = TimeSpan.FromSeconds(3);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.ExportAsync(OtlpSamples.Traces(2)));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        var details = error.Trailers.GetValueBytes("grpc-status-details-bin");
        Assert.That(details, Is.Not.Null);
        var status = GrpcTestSupport.ParseStatus(details!);
        Assert.That(status.Code, Is.EqualTo((int)StatusCode.Unavailable));
        var retryInfo = status.Details.Single();
        Assert.That(retryInfo.TypeUrl, Is.EqualTo("type.googleapis.com/google.rpc.RetryInfo"));
        var delay = ParseRetryDelay(retryInfo.Value);
        Assert.That(delay, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(h.Counter("collector_receiver_refused_spans_total", ("transport", "grpc")), Is.EqualTo(2));

        h.Traces.RefuseWithRetryAfter = null;
        await client.ExportAsync(OtlpSamples.Traces(1));
        Assert.That(h.Traces.Batches, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Spans_and_log_records_with_invalid_ids_are_dropped_as_partial_success()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var channel = h.CreateChannel();
        var traces = OtlpSamples.Traces(4);
        var spans = traces.ResourceSpans[0].ScopeSpans[0].Spans;
        spans[0].SpanId = ByteString.Empty;
        spans[1].TraceId = ByteString.CopyFrom(1, 2, 3);
        spans[2].ParentSpanId = ByteString.CopyFrom(1, 2, 3, 4);
        var logs = OtlpSamples.Logs(3);
        logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0].TraceId = ByteString.Empty;
        logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0].SpanId = ByteString.Empty;
        logs.ResourceLogs[0].ScopeLogs[0].LogRecords[1].SpanId = ByteString.CopyFrom(1, 2);

        var traceReply = await new TraceService.TraceServiceClient(channel).ExportAsync(traces);
        var logReply = await new LogsService.LogsServiceClient(channel).ExportAsync(logs);

        Assert.That(traceReply.PartialSuccess.RejectedSpans, Is.EqualTo(3));
        Assert.That(traceReply.PartialSuccess.ErrorMessage, Does.Contain("span_id"));
        var kept = h.Traces.Batches.Single();
        Assert.That(kept.ItemCount, Is.EqualTo(1));
        Assert.That(kept.Resources[0].ScopeSpans[0].Spans.Single().Name, Is.EqualTo("chat-3"));
        Assert.That(logReply.PartialSuccess.RejectedLogRecords, Is.EqualTo(1));
        Assert.That(h.LogRecords.Batches.Single().ItemCount, Is.EqualTo(2), "a log record without ids is valid");
        Assert.That(h.Counter("collector_receiver_rejected_spans_total"), Is.EqualTo(3));
        Assert.That(h.Counter("collector_receiver_accepted_spans_total"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_signal_without_pipeline_is_unimplemented_and_one_request_feeds_every_pipeline()
    {
        var first = new RecordingEntry<ResourceSpans>();
        var second = new RecordingEntry<ResourceSpans>();
        var logs = new RecordingEntry<ResourceLogs>();
        await using var h = await ReceiverHarness.StartAsync(targets: new ReceiverTargets { Traces = [first, second], Logs = [logs] });
        using var channel = h.CreateChannel();
        var request = OtlpSamples.Traces(2);

        await new TraceService.TraceServiceClient(channel).ExportAsync(request);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new MetricsService.MetricsServiceClient(channel).ExportAsync(OtlpSamples.Metrics(1)));
        await new LogsService.LogsServiceClient(channel).ExportAsync(OtlpSamples.Logs(1));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.Unimplemented));
        var a = first.Batches.Single();
        var b = second.Batches.Single();
        Assert.That(a.Resources, Is.EqualTo(request.ResourceSpans));
        Assert.That(b.Resources, Is.EqualTo(request.ResourceSpans));
        Assert.That(a.Resources[0], Is.Not.SameAs(b.Resources[0]), "each pipeline owns its copy");
        Assert.That(logs.Batches, Has.Count.EqualTo(1));
        Assert.That(h.Counter("collector_receiver_accepted_spans_total"), Is.EqualTo(2), "items count once per request, not per pipeline");
    }

    [Test]
    public async Task Shutdown_is_safe_twice_and_frees_the_port()
    {
        var h = await ReceiverHarness.StartAsync();
        var port = h.Receiver.GrpcPort!.Value;
        Assert.That(port, Is.GreaterThan(0));

        await h.Receiver.ShutdownAsync(CancellationToken.None);
        await h.DisposeAsync();

        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        Assert.DoesNotThrow(probe.Start, "the port is released after shutdown");
        probe.Stop();
    }

    private static TimeSpan ParseRetryDelay(ByteString retryInfo) => GrpcTestSupport.RetryDelay(retryInfo);

    internal static async Task AssertStillServesAsync(ReceiverHarness h, GrpcChannel channel)
    {
        var before = h.Traces.Batches.Count;
        await new TraceService.TraceServiceClient(channel).ExportAsync(OtlpSamples.Traces(1));
        await Poll.UntilAsync(() => h.Traces.Batches.Count == before + 1, TimeSpan.FromSeconds(5), "a valid request after a bad one");
    }
}
