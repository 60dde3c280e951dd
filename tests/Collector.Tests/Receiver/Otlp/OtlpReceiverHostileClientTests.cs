using System.Net;
using System.Net.Sockets;
using System.Text;
using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Receiver.Hosting;
using Collector.Receiver.Langtrace;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog;

namespace Collector.Tests.Receiver;

/// <summary>
/// Issue 15, hostile or broken clients, against real Kestrel receivers and hand-written requests:
/// each is a client error with its own status, logged at debug without a stack trace.
/// </summary>
public sealed class OtlpReceiverHostileClientTests
{
    private const string Protobuf = "application/x-protobuf";

    /// <summary>A chunk size that overflows 64 bits: Kestrel throws a plain IOException for it.</summary>
    private static readonly byte[] OverflowingChunk = Encoding.ASCII.GetBytes("FFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n");

    [Test]
    public async Task Otlp_http_answers_an_overflowing_chunk_size_400_with_one_debug_line()
    {
        await using var h = await ReceiverHarness.StartAsync();

        var response = await RawHttp.ExchangeAsync(h.Receiver.HttpPort!.Value, ChunkedHeaders("/v1/traces", Protobuf), OverflowingChunk);

        Assert.That(RawHttp.Status(response), Is.EqualTo(400), response);
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "decode")), Is.EqualTo(1));
        var rejections = h.Logs.Lines.Where(l => l.Contains("Rejected OTLP/HTTP request", StringComparison.Ordinal)).ToList();
        Assert.That(rejections, Has.Count.EqualTo(1));
        Assert.That(rejections[0], Does.StartWith("Debug"));
        AssertNoErrorsOrStackTraces(h.Logs);
    }

    [Test]
    public async Task Langtrace_answers_an_overflowing_chunk_size_400_with_one_debug_line()
    {
        var sink = new CapturingSink();
        await using var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var metrics = new SelfMetrics();
        var config = new LangtraceReceiverConfig { Endpoint = "127.0.0.1:0" };
        var context = new ComponentContext(new ComponentId("langtrace", string.Empty), logger, metrics, new SharedComponents());
        var receiver = (LangtraceReceiver)new LangtraceReceiverFactory().CreateReceiver(context, config, new ReceiverTargets { Traces = [new RecordingEntry<ResourceSpans>()] });
        await receiver.StartAsync(CancellationToken.None);
        try
        {
            var response = await RawHttp.ExchangeAsync(receiver.Port!.Value, ChunkedHeaders("/api/trace", "application/json"), OverflowingChunk);

            Assert.That(RawHttp.Status(response), Is.EqualTo(400), response);
            Assert.That(sink.Lines.Count(l => l.StartsWith("Debug Rejected Langtrace request", StringComparison.Ordinal)), Is.EqualTo(1));
            AssertNoErrorsOrStackTraces(sink);
        }
        finally
        {
            await receiver.ShutdownAsync(CancellationToken.None);
        }
    }

    [Test]
    public async Task Grpc_gzip_that_is_not_gzip_is_invalid_argument_and_an_unknown_compressed_flag_unimplemented()
    {
        await using var h = await ReceiverHarness.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(20) };
        var message = OtlpSamples.Traces(1).ToByteArray();

        var notGzip = await RawGrpc.ExportAsync(http, h.Receiver.GrpcPort!.Value, flag: 1, message, encoding: "gzip");
        var flagSeven = await RawGrpc.ExportAsync(http, h.Receiver.GrpcPort!.Value, flag: 7, message, encoding: null);
        var fine = await RawGrpc.ExportAsync(http, h.Receiver.GrpcPort!.Value, flag: 0, message, encoding: null);

        Assert.That(notGzip.Status, Is.EqualTo("3"), notGzip.Message);
        Assert.That(notGzip.Message, Does.Contain("not valid gzip"));
        Assert.That(flagSeven.Status, Is.EqualTo("12"), flagSeven.Message);
        Assert.That(flagSeven.Message, Does.Contain("compressed-flag 7"));
        Assert.That(fine.Status, Is.EqualTo("0"), "the receiver still serves");
        Assert.That(h.Traces.Batches, Has.Count.EqualTo(1));
        AssertNoErrorsOrStackTraces(h.Logs);
    }

    [Test]
    public async Task A_client_resetting_the_connection_mid_body_logs_no_error()
    {
        await using var h = await ReceiverHarness.StartAsync();
        // Expect: 100-continue makes Kestrel answer "100 Continue" once the handler reads the body:
        // the reset then hits a request being read (a reset before it would only discard the bytes).
        var headers = Encoding.ASCII.GetBytes($"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {Protobuf}\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");

        for (var i = 0; i < 5; i++)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, h.Receiver.HttpPort!.Value);
            var stream = client.GetStream();
            await stream.WriteAsync(headers);
            var interim = await RawHttp.ReadResponseAsync(stream, TimeSpan.FromSeconds(10));
            Assert.That(RawHttp.Status(interim), Is.EqualTo(100), interim);
            await stream.WriteAsync(new byte[100]);
            await stream.FlushAsync();
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
        }

        await Poll.UntilAsync(
            () => h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", ClientDisconnects.Reason))
                + h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "decode")) >= 5,
            TimeSpan.FromSeconds(10),
            "five abandoned requests counted");
        // A reset seen while reading is a 400 (decode) or, once Kestrel flagged the abort, a disconnect; never an error.
        Assert.That(h.Logs.Lines.Count(l => l.StartsWith("Information A client disconnected", StringComparison.Ordinal)), Is.LessThanOrEqualTo(1), "at most one summary a minute");
        AssertNoErrorsOrStackTraces(h.Logs);
    }

    [Test]
    public async Task With_auth_on_an_unauthenticated_request_for_an_unserved_signal_is_401_not_404()
    {
        var config = ReceiverHarness.DefaultConfig();
        config.Auth = new() { BearerTokens = ["hostile-test-token"] };
        await using var h = await ReceiverHarness.StartAsync(config, new ReceiverTargets { Traces = [new RecordingEntry<ResourceSpans>()] });

        using var anonymous = await h.PostAsync("/v1/metrics", [], Protobuf);
        using var anonymousUnknownPath = await h.PostAsync("/v1/other", [], Protobuf);
        using var authorized = new HttpRequestMessage(HttpMethod.Post, new Uri(h.HttpBase, "/v1/metrics")) { Content = ReceiverHarness.Content([], Protobuf) };
        authorized.Headers.TryAddWithoutValidation("Authorization", "Bearer hostile-test-token");
        using var served = await h.Http.SendAsync(authorized);

        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await anonymous.Content.ReadAsByteArrayAsync(), Is.Not.EqualTo(Encoding.UTF8.GetBytes("no metrics pipeline uses this receiver")));
        Assert.That(anonymousUnknownPath.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(served.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the layout is told once authenticated");
    }

    [Test]
    public async Task A_body_dribbled_below_the_minimum_rate_is_answered_408()
    {
        var config = ReceiverHarness.DefaultConfig();
        config.Protocols.Http!.MinBodyRate = new MinBodyRateConfig { BytesPerSecond = 100, GracePeriod = TimeSpan.FromSeconds(2) };
        await using var h = await ReceiverHarness.StartAsync(config);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, h.Receiver.HttpPort!.Value);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {Protobuf}\r\nContent-Length: 1000\r\n\r\n"));
        var response = RawHttp.ReadResponseAsync(stream, TimeSpan.FromSeconds(20));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!response.IsCompleted && DateTime.UtcNow < deadline)
        {
            try
            {
                await stream.WriteAsync(new byte[] { 0x0A });
            }
            catch (IOException)
            {
                break;
            }

            await Task.WhenAny(response, Task.Delay(500));
        }

        var text = await response;
        Assert.That(RawHttp.Status(text), Is.EqualTo(408), text);
        Assert.That(h.Counter("collector_receiver_rejected_requests_total", ("transport", "http"), ("reason", "too_slow")), Is.EqualTo(1));
        AssertNoErrorsOrStackTraces(h.Logs);
    }

    [Test]
    public async Task Spans_with_an_all_zero_trace_or_span_id_are_rejected_as_partial_success()
    {
        await using var h = await ReceiverHarness.StartAsync();
        var request = OtlpSamples.Traces(3);
        var spans = request.ResourceSpans[0].ScopeSpans[0].Spans;
        spans[0].TraceId = ByteString.CopyFrom(new byte[16]);
        spans[1].SpanId = ByteString.CopyFrom(new byte[8]);

        using var reply = await h.PostAsync("/v1/traces", request.ToByteArray(), Protobuf);

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var partial = ExportTraceServiceResponse.Parser.ParseFrom(await reply.Content.ReadAsByteArrayAsync()).PartialSuccess;
        Assert.That(partial.RejectedSpans, Is.EqualTo(2));
        Assert.That(partial.ErrorMessage, Does.Contain("all zeroes"));
        Assert.That(h.Traces.Batches.Sum(b => b.ItemCount), Is.EqualTo(1));
        Assert.That(h.Counter("collector_receiver_rejected_spans_total", ("transport", "http")), Is.EqualTo(2));
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(8)]
    public async Task A_gzip_body_with_a_truncated_trailer_is_refused_with_400(int cut)
    {
        await using var h = await ReceiverHarness.StartAsync();
        var body = OtlpSamples.Traces(2).ToByteArray();
        using var compressed = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(body);
        }

        var whole = compressed.ToArray();
        using var truncated = await h.PostAsync("/v1/traces", whole[..^cut], Protobuf, "gzip");
        using var complete = await h.PostAsync("/v1/traces", whole, Protobuf, "gzip");

        Assert.That(truncated.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(complete.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(h.Traces.Batches, Has.Count.EqualTo(1), "only the complete body is delivered");
        AssertNoErrorsOrStackTraces(h.Logs);
    }

    private static byte[] ChunkedHeaders(string path, string contentType) =>
        Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n");

    private static void AssertNoErrorsOrStackTraces(CapturingSink logs)
    {
        foreach (var line in logs.Lines)
        {
            Assert.That(line, Does.Not.StartWith("Error").And.Not.StartWith("Fatal"), "client errors are not collector errors");
            Assert.That(line, Does.Not.Contain("\n   at "), "no stack trace for a client's fault");
        }
    }

    /// <summary>HTTP/1.1 over a plain socket: requests no HttpClient would send.</summary>
    private static class RawHttp
    {
        public static async Task<string> ExchangeAsync(int port, params byte[][] parts)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            foreach (var part in parts)
            {
                await stream.WriteAsync(part);
            }

            return await ReadResponseAsync(stream, TimeSpan.FromSeconds(15));
        }

        /// <summary>Reads the status line, headers and a Content-Length body (or up to the close).</summary>
        public static async Task<string> ReadResponseAsync(NetworkStream stream, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var received = new MemoryStream();
            var buffer = new byte[4096];
            while (true)
            {
                int read;
                try
                {
                    read = await stream.ReadAsync(buffer, cts.Token);
                }
                catch (IOException)
                {
                    read = 0;
                }

                if (read == 0)
                {
                    return Encoding.ASCII.GetString(received.ToArray());
                }

                received.Write(buffer, 0, read);
                var text = Encoding.ASCII.GetString(received.ToArray());
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    var length = ContentLength(text[..end]);
                    if (text.Length - end - 4 >= length)
                    {
                        return text;
                    }
                }
            }
        }

        public static int Status(string response) =>
            response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(response.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : -1;

        private static int ContentLength(string headers)
        {
            foreach (var line in headers.Split("\r\n"))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    return int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            return 0;
        }
    }

    /// <summary>A unary TraceService/Export call with a hand-built gRPC frame over HTTP/2 without TLS.</summary>
    private static class RawGrpc
    {
        public static async Task<(string? Status, string? Message)> ExportAsync(HttpClient http, int port, byte flag, byte[] message, string? encoding)
        {
            var frame = new byte[5 + message.Length];
            frame[0] = flag;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
            message.CopyTo(frame, 5);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent(frame),
            };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
            request.Headers.TryAddWithoutValidation("TE", "trailers");
            if (encoding is not null)
            {
                request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
            }

            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            string? Header(string name) =>
                response.Headers.TryGetValues(name, out var v) ? v.First()
                : response.TrailingHeaders.TryGetValues(name, out var t) ? t.First() : null;
            return (Header("grpc-status"), Uri.UnescapeDataString(Header("grpc-message") ?? string.Empty));
        }
    }
}
