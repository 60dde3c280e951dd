using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Collector.Pipeline.Otlp;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>
/// A generated corpus of realistic prompts goes through a collector whose otlphttp exporters
/// (OTLP/JSON, uncompressed) deliver to two real HTTP backends: one behind redaction, one not.
/// No planted secret may appear in the bytes the redacted backend received, while the other
/// backend proves each one would have been found; clean items arrive byte-identical.
/// </summary>
public sealed class RedactionCorpusTests
{
    private const int PromptCount = 120;
    private const int PromptsPerRequest = 20;

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] EveryKind = ["email", "credit_card", "phone", "ipv4", "api_key", "bearer_token", "jwt", "blocked_values", "blocked_key_patterns"];

    [Test]
    public async Task No_planted_secret_reaches_the_backend_and_clean_prompts_arrive_byte_identical()
    {
        await using var redactedBackend = await HttpTestBackend.StartAsync();
        await using var rawBackend = await HttpTestBackend.StartAsync();
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync($$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              redaction/strict:
                detectors: {{AllDetectorsYaml}}
                blocked_key_patterns: ["(?i)authorization", "(?i)api[_.-]?key", "(?i)password|secret"]
                blocked_values: ["\\bACME-[0-9]{6}\\b"]
            exporters:
              otlphttp/redacted: { endpoint: "{{redactedBackend.BaseUrl}}", encoding: json, compression: none }
              otlphttp/raw: { endpoint: "{{rawBackend.BaseUrl}}", encoding: json, compression: none }
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
              pipelines:
                traces/redacted: { receivers: [otlp], processors: [redaction/strict], exporters: [otlphttp/redacted] }
                traces/raw: { receivers: [otlp], exporters: [otlphttp/raw] }
                logs/redacted: { receivers: [otlp], processors: [redaction/strict], exporters: [otlphttp/redacted] }
                logs/raw: { receivers: [otlp], exporters: [otlphttp/raw] }
            """);

        var corpus = new PromptCorpus(seed: 20240601);
        var prompts = corpus.Generate(PromptCount);
        var secrets = prompts.SelectMany(p => p.Secrets).ToList();
        var sent = new List<(CorpusPrompt Prompt, Span Chat, Span? Http, LogRecord Text, LogRecord Structured)>();
        var nextSpanId = 0L;
        foreach (var prompt in prompts)
        {
            var chat = ChatSpan(prompt.Text, ++nextSpanId);
            Span? http = null;
            if (!prompt.IsClean)
            {
                var token = corpus.HeaderToken();
                secrets.Add(new PlantedSecret("blocked_key_patterns", token));
                http = TestData.Span("POST /v1/chat/completions", chat.TraceId.ToByteArray());
                http.SpanId = SpanId(++nextSpanId);
                http.Attributes.Add(Attr("http.request.header.authorization", Array(Str("Bearer " + token))));
            }

            sent.Add((prompt, chat, http, TextLog(chat, prompt.Text), StructuredLog(chat, prompt.Text)));
        }

        Assert.That(secrets.Select(s => s.Kind).Distinct(), Is.EquivalentTo(EveryKind), "the corpus plants every kind");
        foreach (var chunk in sent.Chunk(PromptsPerRequest))
        {
            await PostAsync(port, "/v1/traces", Traces(chunk.SelectMany(s => s.Http is null ? new[] { s.Chat } : [s.Chat, s.Http])));
            await PostAsync(port, "/v1/logs", Logs(chunk.SelectMany(s => new[] { s.Text, s.Structured })));
        }

        var spanCount = sent.Count + sent.Count(s => s.Http is not null);
        var logCount = sent.Count * 2;
        var redacted = await ReceivedAsync(redactedBackend, spanCount, logCount);
        var raw = await ReceivedAsync(rawBackend, spanCount, logCount);

        foreach (var secret in secrets)
        {
            Assert.That(Contains(raw.Bytes, secret.Value), Is.True, $"control: the unredacted backend shows the {secret.Kind} '{secret.Value}'");
            Assert.That(Contains(redacted.Bytes, secret.Value), Is.False, $"{secret.Kind} '{secret.Value}' leaked");
        }

        foreach (var (prompt, chat, http, text, structured) in sent)
        {
            var expected = prompt.Redacted();
            var chatOut = redacted.Spans[chat.SpanId];
            Assert.That(Value(chatOut.Attributes, "input.value"), Is.EqualTo(expected), "only the secrets are masked");
            Assert.That(Value(chatOut.Attributes, "gen_ai.input.messages"), Is.EqualTo(Messages(expected)));
            Assert.That(Value(chatOut.Events[0].Attributes, "gen_ai.prompt"), Is.EqualTo(Messages(expected)));
            Assert.That(redacted.Logs[(chat.SpanId, AnyValue.ValueOneofCase.StringValue)].Body.StringValue, Is.EqualTo(expected));
            Assert.That(redacted.Logs[(chat.SpanId, AnyValue.ValueOneofCase.KvlistValue)].Body.KvlistValue.Values[1].Value.StringValue, Is.EqualTo(expected));
            if (prompt.IsClean)
            {
                Assert.That(chatOut, Is.EqualTo(chat), "a clean span arrives unchanged");
                Assert.That(Encoding.UTF8.GetBytes(Value(chatOut.Attributes, "gen_ai.input.messages")), Is.EqualTo(Encoding.UTF8.GetBytes(Messages(prompt.Text))));
                Assert.That(redacted.Logs[(chat.SpanId, AnyValue.ValueOneofCase.StringValue)], Is.EqualTo(text));
                Assert.That(redacted.Logs[(chat.SpanId, AnyValue.ValueOneofCase.KvlistValue)], Is.EqualTo(structured));
            }
            else
            {
                Assert.That(Find(redacted.Spans[http!.SpanId].Attributes, "http.request.header.authorization").StringValue, Is.EqualTo("****"));
            }
        }
    }

    private static Span ChatSpan(string prompt, long id)
    {
        var span = TestData.Span("chat gpt-4o");
        span.SpanId = SpanId(id);
        span.Attributes.Add(Attr("gen_ai.operation.name", Str("chat")));
        span.Attributes.Add(Attr("gen_ai.request.model", Str("gpt-4o")));
        span.Attributes.Add(Attr("gen_ai.input.messages", Str(Messages(prompt))));
        span.Attributes.Add(Attr("input.value", Str(prompt)));
        span.Attributes.Add(TestData.Attr("gen_ai.usage.input_tokens", 412));
        span.Events.Add(new Span.Types.Event { Name = "gen_ai.content.prompt", TimeUnixNano = span.StartTimeUnixNano, Attributes = { Attr("gen_ai.prompt", Str(Messages(prompt))) } });
        return span;
    }

    /// <summary>Span ids unique within the test (items are matched by them on the way out).</summary>
    private static ByteString SpanId(long id)
    {
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, id);
        return ByteString.CopyFrom(bytes);
    }

    private static LogRecord TextLog(Span span, string prompt) => new()
    {
        TimeUnixNano = span.StartTimeUnixNano,
        TraceId = span.TraceId,
        SpanId = span.SpanId,
        EventName = "gen_ai.user.message",
        Body = Str(prompt),
    };

    private static LogRecord StructuredLog(Span span, string prompt) => new()
    {
        TimeUnixNano = span.StartTimeUnixNano,
        TraceId = span.TraceId,
        SpanId = span.SpanId,
        EventName = "gen_ai.user.message",
        Body = Kvlist(Attr("role", Str("user")), Attr("content", Str(prompt))),
    };

    /// <summary>The transcript as instrumentations serialise it (JSON.stringify / json.dumps(ensure_ascii=False) style).</summary>
    private static string Messages(string prompt) =>
        JsonSerializer.Serialize(new[] { new { role = "system", content = "You are a helpful assistant." }, new { role = "user", content = prompt } }, Relaxed);

    private static ExportTraceServiceRequest Traces(IEnumerable<Span> spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai" } };
        scope.Spans.Add(spans);
        return new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { Resource = Service(), ScopeSpans = { scope } } } };
    }

    private static ExportLogsServiceRequest Logs(IEnumerable<LogRecord> records)
    {
        var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai" } };
        scope.LogRecords.Add(records);
        return new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { Resource = Service(), ScopeLogs = { scope } } } };
    }

    private static Resource Service() => new() { Attributes = { Attr("service.name", Str("support-bot")) } };

    /// <summary>Waits for every item, then decodes what arrived and keeps the raw bytes for searching.</summary>
    private static async Task<Received> ReceivedAsync(HttpTestBackend backend, int spans, int logs)
    {
        var received = new Received();
        await Poll.UntilAsync(
            () =>
            {
                received = Decode(backend.Calls);
                return received.Spans.Count >= spans && received.Logs.Count >= logs;
            },
            TimeSpan.FromSeconds(30),
            $"{spans} spans and {logs} log records at {backend.BaseUrl}");
        return received;
    }

    private static Received Decode(IEnumerable<HttpCall> calls)
    {
        var received = new Received();
        var bytes = new List<byte>();
        foreach (var call in calls)
        {
            Assert.That(call.ContentType, Is.EqualTo("application/json"));
            bytes.AddRange(call.Body);
            if (call.Path.EndsWith("/v1/traces", StringComparison.Ordinal))
            {
                foreach (var span in OtlpJson.Parse(call.Body, ExportTraceServiceRequest.Parser).ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
                {
                    received.Spans[span.SpanId] = span;
                }
            }
            else
            {
                foreach (var log in OtlpJson.Parse(call.Body, ExportLogsServiceRequest.Parser).ResourceLogs.SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords))
                {
                    received.Logs[(log.SpanId, log.Body.ValueCase)] = log;
                }
            }
        }

        received.Bytes = [.. bytes];
        return received;
    }

    /// <summary>The secret as UTF-8, or as the exporter's JSON writer escapes it ('+' as \u002B, ...).</summary>
    private static bool Contains(byte[] haystack, string secret)
    {
        var formatted = OtlpJson.Format(new AnyValue { StringValue = secret });
        const string prefix = "{\"stringValue\":\"";
        var escaped = formatted[prefix.Length..^2];
        return haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0
            || haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(escaped)) >= 0;
    }

    private static AnyValue Find(IEnumerable<KeyValue> attributes, string key) =>
        attributes.Single(a => a.Key == key).Value is { ValueCase: AnyValue.ValueOneofCase.ArrayValue } array ? array.ArrayValue.Values[0] : attributes.Single(a => a.Key == key).Value;

    private static string Value(IEnumerable<KeyValue> attributes, string key) => attributes.Single(a => a.Key == key).Value.StringValue;

    private sealed class Received
    {
        public Dictionary<ByteString, Span> Spans { get; } = [];

        public Dictionary<(ByteString SpanId, AnyValue.ValueOneofCase Body), LogRecord> Logs { get; } = [];

        public byte[] Bytes { get; set; } = [];
    }
}
