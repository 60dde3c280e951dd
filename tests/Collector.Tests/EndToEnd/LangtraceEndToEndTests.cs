using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Collector.Receiver.Langtrace;
using Collector.Tests.LangtraceInterop.StandIn;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ProtoSpan = OpenTelemetry.Proto.Trace.V1.Span;

namespace Collector.Tests.LangtraceInterop;

/// <summary>
/// Whole collectors between real clients and the Langtrace stand-in: the OpenTelemetry .NET SDK
/// through the otlp receiver, and Langtrace SDK payloads through the langtrace receiver, both
/// out through the langtrace exporter. What Langtrace stores must give back everything sent.
/// </summary>
[NonParallelizable]
public sealed class LangtraceEndToEndTests
{
    private const string Key = "lt-e2e-key-31415926";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private LangtraceStandIn _standIn = null!;

    [SetUp]
    public async Task StartStandIn() => _standIn = await LangtraceStandIn.StartAsync(new Dictionary<string, string> { [Key] = "e2e" });

    [TearDown]
    public async Task StopStandIn() => await _standIn.DisposeAsync();

    [Test]
    public async Task Llm_traces_from_the_OpenTelemetry_sdk_are_stored_with_every_value_and_the_cost_fields()
    {
        var otlpPort = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(CollectorYaml(
            $$"""otlp: { protocols: { http: { endpoint: "127.0.0.1:{{otlpPort}}" } } }""", "otlp"));

        var sent = new List<Activity>();
        using (var source = new ActivitySource("llm-app.e2e"))
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("llm-app"))
            .AddOtlpExporter(o =>
            {
                o.Endpoint = new Uri($"http://127.0.0.1:{otlpPort}/v1/traces");
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
            })
            .Build())
        {
            for (var i = 0; i < 30; i++)
            {
                using var root = source.StartActivity("POST /chat", ActivityKind.Server)!;
                root.SetTag("http.request.method", "POST");
                root.SetTag("app.cached", i % 2 == 0);
                root.SetTag("app.tags", new[] { "beta", "eu" });
                sent.Add(root);
                using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!)
                {
                    chat.SetTag("gen_ai.operation.name", "chat");
                    chat.SetTag("gen_ai.provider.name", "openai");
                    chat.SetTag("gen_ai.request.model", "gpt-4o");
                    chat.SetTag("gen_ai.response.model", "gpt-4o-2024-08-06");
                    chat.SetTag("gen_ai.usage.input_tokens", 100 + i);
                    chat.SetTag("gen_ai.usage.output_tokens", 20L + i);
                    chat.SetTag("gen_ai.request.temperature", 0.25 * (i % 4));
                    chat.SetTag("gen_ai.request.stream", i % 3 == 0);
                    chat.SetTag("gen_ai.request.stop_sequences", new[] { "\n", "END" });
                    chat.SetTag("app.scores", new[] { 0.5, 1.0, 2.75 });
                    chat.SetTag("app.flags", new[] { true, false });
                    chat.SetTag("app.counts", new long[] { 1, 2, 3 });
                    chat.AddEvent(new ActivityEvent("gen_ai.content.prompt", tags: new ActivityTagsCollection { ["gen_ai.prompt"] = $"[{{\"role\":\"user\",\"content\":\"question {i}\"}}]" }));
                    chat.AddEvent(new ActivityEvent("gen_ai.content.completion", tags: new ActivityTagsCollection { ["gen_ai.completion"] = "[{\"role\":\"assistant\",\"content\":\"answer\"}]" }));
                    chat.AddEvent(new ActivityEvent("first_token"));
                    sent.Add(chat);
                }
            }

            Assert.That(provider.ForceFlush(10_000), Is.True);
        }

        await Poll.UntilAsync(() => _standIn.Stored.Count >= sent.Count, Wait, $"{sent.Count} spans stored");
        var stored = _standIn.Stored.ToDictionary(s => s.SpanId!);
        Assert.That(stored, Has.Count.EqualTo(sent.Count), "every span stored once");
        Assert.That(_standIn.Requests.All(r => r.Status == 200), Is.True);
        Assert.Multiple(() =>
        {
            foreach (var activity in sent)
            {
                var s = stored[activity.SpanId.ToHexString()];
                Assert.That(s.TraceId, Is.EqualTo(activity.TraceId.ToHexString()));
                Assert.That(s.ParentId, Is.EqualTo(activity.Parent is null ? null : activity.ParentSpanId.ToHexString()));
                Assert.That(s.Text("service.name"), Is.EqualTo("llm-app"));
                foreach (var (key, value) in activity.TagObjects)
                {
                    Assert.That(StoredValues.Mismatch(ToAnyValue(value), s.Attributes.GetValueOrDefault(key)), Is.Null, $"{activity.DisplayName}: {key}");
                }

                Assert.That(s.Events.Select(e => e.Name), Is.EqualTo(activity.Events.Select(e => e.Name)));
                foreach (var (sentEvent, storedEvent) in activity.Events.Zip(s.Events))
                {
                    foreach (var (key, value) in sentEvent.Tags)
                    {
                        Assert.That(StoredValues.Mismatch(ToAnyValue(value), storedEvent.Attributes.GetValueOrDefault(key)), Is.Null, $"event {sentEvent.Name}: {key}");
                    }
                }

                if (activity.Kind == ActivityKind.Client)
                {
                    // What Langtrace's token and cost views read, on every LLM span.
                    Assert.That(s.Text("langtrace.service.type"), Is.EqualTo("llm"));
                    Assert.That(s.Text("langtrace.service.name"), Is.EqualTo("openai"));
                    Assert.That(s.Text("llm.model"), Is.EqualTo("gpt-4o"));
                    Assert.That(s.Text("gen_ai.request.model"), Is.EqualTo("gpt-4o"));
                    var input = long.Parse(s.Text("gen_ai.usage.input_tokens")!, System.Globalization.CultureInfo.InvariantCulture);
                    var output = long.Parse(s.Text("gen_ai.usage.output_tokens")!, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.That(s.Text("gen_ai.usage.total_tokens"), Is.EqualTo((input + output).ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
            }
        });
    }

    [TestCase("python")]
    [TestCase("typescript")]
    [TestCase("otlp-json")]
    [TestCase("otlp-protobuf")]
    public async Task A_Langtrace_sdk_payload_through_the_collector_reaches_Langtrace_whole(string shape)
    {
        var receiverPort = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(CollectorYaml(
            $$"""langtrace: { endpoint: "127.0.0.1:{{receiverPort}}", api_keys: ["{{Key}}"] }""", "langtrace"));
        var (body, contentType, userAgent) = shape switch
        {
            "python" => (Encoding.UTF8.GetBytes(LangtraceFixtures.Python), "application/json", LangtraceFixtures.PythonUserAgent),
            "typescript" => (Encoding.UTF8.GetBytes(LangtraceFixtures.TypeScript), "application/json", LangtraceFixtures.TypeScriptUserAgent),
            "otlp-json" => (Encoding.UTF8.GetBytes(LangtraceFixtures.OtlpJson), "application/json", "OTel-OTLP-Exporter-JavaScript/0.52.0"),
            _ => (LangtraceFixtures.OtlpProtobuf(), "application/x-protobuf", "OTel-OTLP-Exporter-Python/1.27.0"),
        };
        var expected = contentType == "application/x-protobuf"
            ? ExportTraceServiceRequest.Parser.ParseFrom(body).ResourceSpans
            : LangtraceRequestDecoder.DecodeJson(body);
        var spans = expected.SelectMany(r => r.ScopeSpans.SelectMany(s => s.Spans.Select(span => (Resource: r, Span: span)))).ToList();

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{receiverPort}/api/trace") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        request.Headers.Add("x-api-key", Key);
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        await Poll.UntilAsync(() => _standIn.Stored.Count >= spans.Count, Wait, $"{spans.Count} spans stored");
        Assert.That(_standIn.Stored, Has.Count.EqualTo(spans.Count));
        var stored = _standIn.Stored.ToDictionary(s => s.SpanId!);
        Assert.Multiple(() =>
        {
            foreach (var (resource, span) in spans)
            {
                var s = stored[Convert.ToHexStringLower(span.SpanId.Span)];
                Assert.That(s.Name, Is.EqualTo(span.Name));
                Assert.That(s.TraceId, Is.EqualTo(Convert.ToHexStringLower(span.TraceId.Span)));
                Assert.That(s.ParentId, Is.EqualTo(span.ParentSpanId.IsEmpty ? null : Convert.ToHexStringLower(span.ParentSpanId.Span)));
                Assert.That(s.Kind, Is.EqualTo((int)span.Kind));
                Assert.That(s.StatusCode, Is.EqualTo(span.Status?.Code switch
                {
                    OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Ok => "OK",
                    OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Error => "ERROR",
                    _ => "UNSET",
                }));
                Assert.That(s.StartTime, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds((long)(span.StartTimeUnixNano / 1_000_000)).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture)));
                foreach (var kv in span.Attributes)
                {
                    Assert.That(StoredValues.Mismatch(kv.Value, s.Attributes.GetValueOrDefault(kv.Key)), Is.Null, $"{span.Name}: {kv.Key}");
                }

                Assert.That(s.Text("service.name"), Is.EqualTo(resource.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue));
                var sentEvents = span.Events.ToList();
                Assert.That(s.Events.Take(sentEvents.Count).Select(e => e.Name), Is.EqualTo(sentEvents.Select(e => e.Name)));
                foreach (var (sentEvent, storedEvent) in sentEvents.Zip(s.Events))
                {
                    foreach (var kv in sentEvent.Attributes)
                    {
                        Assert.That(StoredValues.Mismatch(kv.Value, storedEvent.Attributes.GetValueOrDefault(kv.Key)), Is.Null, $"{span.Name} event {sentEvent.Name}: {kv.Key}");
                    }
                }
            }
        });
    }

    private string CollectorYaml(string receiver, string receiverId) => $$"""
        receivers:
          {{receiver}}
        exporters:
          langtrace:
            endpoint: "{{_standIn.Url}}"
            api_key: "{{Key}}"
            batch_size: 50
            flush_interval: 200ms
            retry_on_failure: { initial_interval: 50ms, max_interval: 200ms }
        service:
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines:
            traces: { receivers: [{{receiverId}}], exporters: [langtrace] }
        """;

    /// <summary>A tag value as the OpenTelemetry .NET SDK's OTLP exporter encodes it.</summary>
    private static AnyValue ToAnyValue(object? value)
    {
        switch (value)
        {
            case string s:
                return new AnyValue { StringValue = s };
            case bool b:
                return new AnyValue { BoolValue = b };
            case int or long:
                return new AnyValue { IntValue = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) };
            case double d:
                return new AnyValue { DoubleValue = d };
            case System.Collections.IEnumerable items:
                var array = new ArrayValue();
                foreach (var item in items)
                {
                    array.Values.Add(ToAnyValue(item));
                }

                return new AnyValue { ArrayValue = array };
            default:
                return new AnyValue { StringValue = value?.ToString() ?? string.Empty };
        }
    }
}
