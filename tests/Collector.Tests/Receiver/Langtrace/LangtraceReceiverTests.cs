using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Collector.Receiver.Langtrace;
using Collector.Tests.Receiver;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>The langtrace receiver turns what Langtrace SDKs post into the right OTLP spans, and replies as Langtrace does.</summary>
public sealed class LangtraceReceiverTests
{
    private const string Key = "lt-receiver-key-42";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(20) };

    private LangtraceReceiver _receiver = null!;
    private RecordingEntry<ResourceSpans> _traces = null!;
    private SelfMetrics _metrics = null!;

    [SetUp]
    public Task Start() => StartAsync([Key]);

    [TearDown]
    public Task Stop() => _receiver.ShutdownAsync(CancellationToken.None);

    [Test]
    public async Task Python_legacy_spans_become_otlp_spans_with_ids_times_kinds_status_attributes_events_and_resource()
    {
        var reply = await PostAsync(LangtraceFixtures.Python, "application/json", LangtraceFixtures.PythonUserAgent);
        Assert.That(reply.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(reply.Body, Is.EqualTo("""{"message":"Traces added successfully"}"""));

        var resource = _traces.Batches.Single().Resources.Single();
        Assert.That(Attr(resource.Resource.Attributes, "service.name")?.StringValue, Is.EqualTo("chat-app"));
        Assert.That(resource.ScopeSpans.Select(s => (s.Scope.Name, s.Scope.Version)), Is.EqualTo(new[]
        {
            ("langtrace_python_sdk.instrumentation.openai", "2.1.0"),
            ("app", string.Empty),
        }));

        var chat = resource.ScopeSpans[0].Spans.Single();
        Assert.Multiple(() =>
        {
            Assert.That(Hex(chat.TraceId), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
            Assert.That(Hex(chat.SpanId), Is.EqualTo("00f067aa0ba902b7"));
            Assert.That(Hex(chat.ParentSpanId), Is.EqualTo("53995c3f42cd8ad8"));
            Assert.That(chat.TraceState, Is.EqualTo("vendor=abc"));
            Assert.That(chat.Kind, Is.EqualTo(Span.Types.SpanKind.Client));
            Assert.That(chat.StartTimeUnixNano, Is.EqualTo(1_714_564_800_123_456_000UL));
            Assert.That(chat.EndTimeUnixNano, Is.EqualTo(1_714_564_801_654_321_000UL));
            Assert.That(chat.Status.Code, Is.EqualTo(Status.Types.StatusCode.Ok));
            Assert.That(Attr(chat.Attributes, "gen_ai.request.temperature")?.DoubleValue, Is.EqualTo(0.7));
            Assert.That(Attr(chat.Attributes, "gen_ai.request.stream")?.BoolValue, Is.False);
            Assert.That(Attr(chat.Attributes, "gen_ai.usage.input_tokens")?.IntValue, Is.EqualTo(25));
            Assert.That(Attr(chat.Attributes, "gen_ai.request.stop_sequences")?.ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "\n", "END" }));
            Assert.That(chat.Events.Select(e => e.Name), Is.EqualTo(new[] { "gen_ai.content.prompt", "gen_ai.content.completion" }));
            Assert.That(chat.Events[0].TimeUnixNano, Is.EqualTo(1_714_564_800_200_000_000UL));
            Assert.That(Attr(chat.Events[0].Attributes, "gen_ai.prompt")?.StringValue, Does.Contain("Say hi"));
        });

        var root = resource.ScopeSpans[1].Spans.Single();
        Assert.Multiple(() =>
        {
            Assert.That(root.ParentSpanId.IsEmpty, Is.True);
            Assert.That(root.TraceState, Is.Empty);
            Assert.That(root.Kind, Is.EqualTo(Span.Types.SpanKind.Server));
            Assert.That(root.Status.Code, Is.EqualTo(Status.Types.StatusCode.Error));
            Assert.That(root.Status.Message, Is.EqualTo("upstream timeout"));
            Assert.That(Attr(root.Events.Single().Attributes, "exception.escaped")?.BoolValue, Is.True);
            Assert.That(Hex(root.Links.Single().TraceId), Is.EqualTo("0af7651916cd43dd8448eb211c80319c"));
            Assert.That(Attr(root.Links.Single().Attributes, "link.kind")?.StringValue, Is.EqualTo("batch"));
        });
    }

    [Test]
    public async Task TypeScript_spans_with_hrtime_and_js_kinds_become_otlp_spans()
    {
        var reply = await PostAsync(LangtraceFixtures.TypeScript, "application/json", LangtraceFixtures.TypeScriptUserAgent);
        Assert.That(reply.Status, Is.EqualTo(HttpStatusCode.OK));

        var resource = _traces.Batches.Single().Resources.Single();
        Assert.That(Attr(resource.Resource.Attributes, "service.name")?.StringValue, Is.EqualTo("ts-app"));
        var chat = resource.ScopeSpans.Single(s => s.Scope.Name == "@langtrase/typescript-sdk").Spans.Single();
        var root = resource.ScopeSpans.Single(s => s.Scope.Name == "http-server").Spans.Single();
        Assert.Multiple(() =>
        {
            Assert.That(resource.ScopeSpans[0].Scope.Version, Is.EqualTo("5.3.2"));
            Assert.That(Hex(chat.TraceId), Is.EqualTo("5b8efff798038103d269b633813fc60c"));
            Assert.That(Hex(chat.SpanId), Is.EqualTo("eee19b7ec3c1b174"));
            Assert.That(Hex(chat.ParentSpanId), Is.EqualTo("eee19b7ec3c1b173"));
            Assert.That(chat.TraceState, Is.EqualTo("vendor=ts"));
            Assert.That(chat.Kind, Is.EqualTo(Span.Types.SpanKind.Client), "JS CLIENT = 2 is OTLP 3");
            Assert.That(root.Kind, Is.EqualTo(Span.Types.SpanKind.Server), "JS SERVER = 1 is OTLP 2");
            Assert.That(chat.StartTimeUnixNano, Is.EqualTo(1_714_564_800_123_456_789UL));
            Assert.That(chat.EndTimeUnixNano, Is.EqualTo(1_714_564_801_500_000_000UL));
            Assert.That(chat.Status.Code, Is.EqualTo(Status.Types.StatusCode.Ok));
            Assert.That((root.Status.Code, root.Status.Message), Is.EqualTo((Status.Types.StatusCode.Error, "boom")));
            Assert.That(Attr(chat.Attributes, "gen_ai.request.top_k")?.IntValue, Is.EqualTo(5));
            Assert.That(Attr(chat.Attributes, "gen_ai.request.temperature")?.DoubleValue, Is.EqualTo(0.2));
            Assert.That(chat.Events.Select(e => (e.Name, e.TimeUnixNano)), Is.EqualTo(new[]
            {
                ("gen_ai.content.prompt", 1_714_564_800_200_000_000UL),
                ("stream.chunk", 1_714_564_801_100_000_000UL),
            }));
            Assert.That(root.ParentSpanId.IsEmpty, Is.True);
        });
    }

    [Test]
    public async Task Otlp_json_and_protobuf_are_accepted_as_they_are()
    {
        Assert.That((await PostAsync(LangtraceFixtures.OtlpJson, "application/json", "OTel-OTLP-Exporter-JavaScript/0.52.0")).Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await PostAsync(LangtraceFixtures.OtlpProtobuf(), "application/x-protobuf", "OTel-OTLP-Exporter-Python/1.27.0")).Status, Is.EqualTo(HttpStatusCode.OK));

        var json = _traces.Batches[0].Resources.Single().ScopeSpans.Single().Spans.Single();
        Assert.That((Hex(json.SpanId), Hex(json.ParentSpanId), json.Kind), Is.EqualTo(("b7ad6b7169203331", "00f067aa0ba902b7", Span.Types.SpanKind.Client)));
        Assert.That(Attr(json.Attributes, "gen_ai.usage.output_tokens")?.IntValue, Is.EqualTo(22));
        var proto = _traces.Batches[1].Resources.Single().ScopeSpans.Single().Spans.Single();
        Assert.That(proto.Name, Is.EqualTo("embeddings text-embedding-3-small"));
        Assert.That(_traces.Batches[1].Resources, Is.EqualTo(OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest.Parser.ParseFrom(LangtraceFixtures.OtlpProtobuf()).ResourceSpans));
    }

    [Test]
    public async Task The_newer_python_sdk_path_v1_traces_is_served_too()
    {
        var reply = await PostAsync(LangtraceFixtures.OtlpProtobuf(), "application/x-protobuf", "OTel-OTLP-Exporter-Python/1.27.0", path: "/v1/traces");
        Assert.That(reply.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_traces.Batches, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Keys_are_checked_as_Langtrace_checks_them()
    {
        var missing = await PostAsync(LangtraceFixtures.OtlpJson, "application/json", "x", key: null);
        var unknown = await PostAsync(LangtraceFixtures.OtlpJson, "application/json", "x", key: "lt-not-a-key");
        Assert.Multiple(() =>
        {
            Assert.That((missing.Status, missing.Body), Is.EqualTo((HttpStatusCode.BadRequest, """{"error":"api key is required"}""")));
            Assert.That((unknown.Status, unknown.Body), Is.EqualTo((HttpStatusCode.Unauthorized, """{"error":"Unauthorized. Invalid API key"}""")));
            Assert.That(_traces.Batches, Is.Empty);
            Assert.That(_metrics.Sum("collector_receiver_rejected_requests_total", ("reason", "unauthenticated")), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Without_configured_keys_any_caller_is_accepted()
    {
        await _receiver.ShutdownAsync(CancellationToken.None);
        await StartAsync([]);
        var reply = await PostAsync(LangtraceFixtures.TypeScript, "application/json", LangtraceFixtures.TypeScriptUserAgent, key: null);
        Assert.That(reply.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_traces.Batches.Single().ItemCount, Is.EqualTo(2));
    }

    [Test]
    public async Task Bad_requests_are_refused_with_a_reason()
    {
        var notJson = await PostAsync("{\"resourceSpans\": [", "application/json", "x");
        var notSpans = await PostAsync("\"hello\"", "application/json", "x");
        var wrongTime = await PostAsync("""[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTime":"yesterday"}]""", "application/json", "x");
        var badProto = await PostAsync(Encoding.UTF8.GetBytes("not protobuf at all"), "application/x-protobuf", "x");
        using var get = new HttpRequestMessage(HttpMethod.Get, Url("/api/trace"));
        var wrongMethod = await Http.SendAsync(get);
        var unknownPath = await PostAsync(LangtraceFixtures.OtlpJson, "application/json", "x", path: "/api/other");
        Assert.Multiple(() =>
        {
            Assert.That(notJson.Status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(notSpans.Status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(wrongTime.Status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(wrongTime.Body, Does.Contain("span #0"));
            Assert.That(badProto.Status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(wrongMethod.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
            Assert.That(unknownPath.Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(_traces.Batches, Is.Empty);
        });
    }

    [Test]
    public async Task Spans_with_unreadable_ids_are_dropped_and_counted_the_rest_delivered()
    {
        var body = """
            [
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"ok","startTime":[1,0],"endTime":[2,0]},
              {"traceId":"not-hex","spanId":"eee19b7ec3c1b175","name":"broken","startTime":[1,0],"endTime":[2,0]}
            ]
            """;
        var reply = await PostAsync(body, "application/json", "x");
        Assert.That(reply.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_traces.Batches.Single().Resources.Single().ScopeSpans.Single().Spans.Select(s => s.Name), Is.EqualTo(new[] { "ok" }));
        Assert.That(_metrics.Sum("collector_receiver_rejected_spans_total"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_full_pipeline_is_answered_503_with_retry_after()
    {
        _traces.RefuseWithRetryAfter = TimeSpan.FromSeconds(3);
        using var request = Request(Encoding.UTF8.GetBytes(LangtraceFixtures.OtlpJson), "application/json", "x", Key, "/api/trace");
        using var response = await Http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public async Task Legacy_values_nest_as_deep_as_protobuf_reads_back_and_one_level_more_is_refused_and_counted()
    {
        // A span attribute's value is message level 5; a JSON array adds 2 levels, an object 3.
        // 48 arrays, the innermost empty: its ArrayValue is level 100, the deepest accepted.
        var deepest = new string('[', 48) + new string(']', 48);
        var oneArrayDeeper = new string('[', 48) + "1" + new string(']', 48);
        var oneObjectDeeper = string.Concat(Enumerable.Repeat("{\"k\":", 32)) + "true" + new string('}', 32);
        static string Spans(string value, string spanId) =>
            $$$"""[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{{{spanId}}}","name":"deep","startTime":[1,0],"endTime":[2,0],"attributes":{"deep":{{{value}}}}}]""";

        var accepted = await PostAsync(Spans(deepest, "eee19b7ec3c1b174"), "application/json", "x");
        var arrays = await PostAsync(Spans(oneArrayDeeper, "eee19b7ec3c1b175"), "application/json", "x");
        var objects = await PostAsync(Spans(oneObjectDeeper, "eee19b7ec3c1b176"), "application/json", "x");
        var otlpJson = await PostAsync(OtlpJson.Format(Otlp.NestedValues.Traces(101)), "application/json", "x");
        var otlpProtobuf = await PostAsync(Otlp.NestedValues.Traces(101).ToByteArray(), "application/x-protobuf", "x");
        var other = await PostAsync(LangtraceFixtures.TypeScript, "application/json", LangtraceFixtures.TypeScriptUserAgent);

        Assert.Multiple(() =>
        {
            Assert.That(accepted.Status, Is.EqualTo(HttpStatusCode.OK));
            foreach (var refused in new[] { arrays, objects, otlpJson, otlpProtobuf })
            {
                Assert.That(refused.Status, Is.EqualTo(HttpStatusCode.BadRequest));
                Assert.That(refused.Body, Does.Contain("nested deeper than 100 levels"));
            }

            Assert.That(other.Status, Is.EqualTo(HttpStatusCode.OK), "other data still delivered");
            Assert.That(_metrics.Sum("collector_receiver_rejected_requests_total", ("reason", "too_deep")), Is.EqualTo(4));
            Assert.That(_metrics.Sum("collector_receiver_accepted_spans_total"), Is.EqualTo(3));
        });

        // What was accepted is exactly as deep as the parser's default allows, and parses again (spool replay, a peer).
        var batches = _traces.Batches;
        Assert.That(batches, Has.Count.EqualTo(2));
        var request = new OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest { ResourceSpans = { batches[0].Resources } };
        Assert.That(Otlp.NestedValues.DepthOf(request), Is.EqualTo(100));
        Assert.That(OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest.Parser.ParseFrom(request.ToByteArray()), Is.EqualTo(request));
    }

    [Test]
    public async Task Out_of_memory_in_a_pipeline_is_answered_503_with_retry_after_and_the_receiver_keeps_serving()
    {
        _traces.ThrowOnSubmit = static () => new OutOfMemoryException("test: heap hard limit");
        using (var request = Request(Encoding.UTF8.GetBytes(LangtraceFixtures.OtlpJson), "application/json", "x", Key, "/api/trace"))
        using (var response = await Http.SendAsync(request))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("out of memory"));
        }

        _traces.ThrowOnSubmit = null;
        var retried = await PostAsync(LangtraceFixtures.OtlpJson, "application/json", "x");
        Assert.That(retried.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_traces.Batches, Has.Count.EqualTo(1));
        Assert.That(_metrics.Sum("collector_receiver_refused_spans_total"), Is.GreaterThan(0));
    }

    [Test]
    public async Task Gzip_bodies_are_read_within_the_limit()
    {
        var raw = Encoding.UTF8.GetBytes(LangtraceFixtures.TypeScript);
        var packed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(raw);
        }

        using var request = Request(packed.ToArray(), "application/json", "x", Key, "/api/trace");
        request.Content!.Headers.ContentEncoding.Add("gzip");
        using var response = await Http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_traces.Batches.Single().ItemCount, Is.EqualTo(2));
    }

    [Test]
    public async Task Serving_http_only_it_exports_no_grpc_transport_series()
    {
        var reply = await PostAsync(LangtraceFixtures.Python, "application/json", LangtraceFixtures.PythonUserAgent);
        Assert.That(reply.Status, Is.EqualTo(HttpStatusCode.OK));

        var text = new StringBuilder();
        _metrics.WritePrometheus(text);
        Assert.That(text.ToString(), Does.Contain("collector_receiver_accepted_spans_total{receiver=\"langtrace\",transport=\"http\"}"));
        Assert.That(text.ToString(), Does.Not.Contain("transport=\"grpc\""));
    }

    private async Task StartAsync(List<string> keys)
    {
        var config = new LangtraceReceiverConfig { Endpoint = "127.0.0.1:0", ApiKeys = keys, MaxRequestBodySizeMib = 1 };
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty);
        _traces = new RecordingEntry<ResourceSpans>();
        _metrics = new SelfMetrics();
        var context = new ComponentContext(new ComponentId("langtrace", string.Empty), Serilog.Core.Logger.None, _metrics, new SharedComponents());
        _receiver = (LangtraceReceiver)new LangtraceReceiverFactory().CreateReceiver(context, config, new ReceiverTargets { Traces = [_traces] });
        await _receiver.StartAsync(CancellationToken.None);
    }

    private Task<(HttpStatusCode Status, string Body)> PostAsync(string body, string contentType, string userAgent, string? key = Key, string path = "/api/trace") =>
        PostAsync(Encoding.UTF8.GetBytes(body), contentType, userAgent, key, path);

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(byte[] body, string contentType, string userAgent, string? key = Key, string path = "/api/trace")
    {
        using var request = Request(body, contentType, userAgent, key, path);
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private HttpRequestMessage Request(byte[] body, string contentType, string userAgent, string? key, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        return request;
    }

    private Uri Url(string path) => new($"http://127.0.0.1:{_receiver.Port}{path}");

    private static AnyValue? Attr(IEnumerable<KeyValue> attributes, string key) => attributes.FirstOrDefault(a => a.Key == key)?.Value;

    private static string Hex(ByteString id) => Convert.ToHexStringLower(id.Span);
}
