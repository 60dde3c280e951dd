using System.Diagnostics;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>
/// Every place redaction applies, through a real collector: OTLP/HTTP in, redaction, capture
/// exporter out. Each location gets a text with an e-mail address, a card number and an API
/// key and must come out with exactly those masked.
/// </summary>
[NonParallelizable]
public sealed class RedactionPipelineTests
{
    private const string Secret = "Reach bob@example.com, card 4111 1111 1111 1111, key sk-abcdefghijklmnopqrstuvwxyz0123456789.";
    private const string Masked = "Reach ****, card ****, key ****.";
    private const string Capture = "capture";

    private readonly CaptureStore _store = new();
    private RunningCollector _collector = null!;
    private int _port;

    public static IEnumerable<TestCaseData> TraceLocations()
    {
        yield return Trace("resource attribute", (r, s) => r.Resource.Attributes.Add(Attr("host.owner", Str(s))), r => Value(r.Resource.Attributes, "host.owner"));
        yield return Trace("scope attribute", (r, s) => r.ScopeSpans[0].Scope.Attributes.Add(Attr("scope.note", Str(s))), r => Value(r.ScopeSpans[0].Scope.Attributes, "scope.note"));
        yield return Trace("span attribute", (r, s) => SpanOf(r).Attributes.Add(Attr("input.value", Str(s))), r => Value(SpanOf(r).Attributes, "input.value"));
        yield return Trace("span attribute array element", (r, s) => SpanOf(r).Attributes.Add(Attr("tags", Array(Str("ok"), Str(s)))), r => Find(SpanOf(r).Attributes, "tags").ArrayValue.Values[1].StringValue);
        yield return Trace("span attribute nested key-value list", (r, s) => SpanOf(r).Attributes.Add(Attr("ctx", Kvlist(Attr("user", Kvlist(Attr("note", Str(s))))))), r => Find(SpanOf(r).Attributes, "ctx").KvlistValue.Values[0].Value.KvlistValue.Values[0].Value.StringValue);
        yield return Trace("span event attribute", (r, s) => SpanOf(r).Events.Add(Event("tool_use", Attr("tool.input", Str(s)))), r => Value(SpanOf(r).Events[0].Attributes, "tool.input"));
        yield return Trace("span link attribute", (r, s) => SpanOf(r).Links.Add(new Span.Types.Link { TraceId = SpanOf(r).TraceId, SpanId = SpanOf(r).SpanId, Attributes = { Attr("link.reason", Str(s)) } }), r => Value(SpanOf(r).Links[0].Attributes, "link.reason"));
        yield return Trace("span status message", (r, s) => SpanOf(r).Status = new Status { Code = Status.Types.StatusCode.Error, Message = s }, r => SpanOf(r).Status.Message);
        yield return Trace("gen_ai.input.messages (JSON)", (r, s) => SpanOf(r).Attributes.Add(Attr("gen_ai.input.messages", Str(Messages(s)))), r => Value(SpanOf(r).Attributes, "gen_ai.input.messages"), json: true);
        yield return Trace("gen_ai.prompt on a gen_ai.content.prompt event (JSON)", (r, s) => SpanOf(r).Events.Add(Event("gen_ai.content.prompt", Attr("gen_ai.prompt", Str(Messages(s))))), r => Value(SpanOf(r).Events[0].Attributes, "gen_ai.prompt"), json: true);
        yield return Trace("llm.prompts (JSON)", (r, s) => SpanOf(r).Attributes.Add(Attr("llm.prompts", Str(Messages(s)))), r => Value(SpanOf(r).Attributes, "llm.prompts"), json: true);
    }

    public static IEnumerable<TestCaseData> LogLocations()
    {
        yield return Log("resource attribute", (r, s) => r.Resource.Attributes.Add(Attr("host.owner", Str(s))), r => Value(r.Resource.Attributes, "host.owner"));
        yield return Log("log attribute", (r, s) => RecordOf(r).Attributes.Add(Attr("exception.message", Str(s))), r => Value(RecordOf(r).Attributes, "exception.message"));
        yield return Log("string body", (r, s) => RecordOf(r).Body = Str(s), r => RecordOf(r).Body.StringValue);
        yield return Log("JSON string body", (r, s) => RecordOf(r).Body = Str(Messages(s)), r => RecordOf(r).Body.StringValue, json: true);
        yield return Log("key-value list body", (r, s) => RecordOf(r).Body = Kvlist(Attr("content", Str(s))), r => RecordOf(r).Body.KvlistValue.Values[0].Value.StringValue);
        yield return Log("array inside a key-value list body", (r, s) => RecordOf(r).Body = Kvlist(Attr("messages", Array(Kvlist(Attr("content", Str(s)))))), r => RecordOf(r).Body.KvlistValue.Values[0].Value.ArrayValue.Values[0].KvlistValue.Values[0].Value.StringValue);
    }

    public static IEnumerable<TestCaseData> MetricLocations()
    {
        yield return Metric("gauge data point attribute", (m, a) => m.Gauge = new Gauge { DataPoints = { new NumberDataPoint { AsInt = 1, Attributes = { a } } } }, m => m.Gauge.DataPoints[0].Attributes);
        yield return Metric("sum data point attribute", (m, a) => m.Sum = new Sum { DataPoints = { new NumberDataPoint { AsDouble = 1, Attributes = { a } } } }, m => m.Sum.DataPoints[0].Attributes);
        yield return Metric("histogram data point attribute", (m, a) => m.Histogram = new Histogram { DataPoints = { new HistogramDataPoint { Count = 1, Attributes = { a } } } }, m => m.Histogram.DataPoints[0].Attributes);
        yield return Metric("exponential histogram data point attribute", (m, a) => m.ExponentialHistogram = new ExponentialHistogram { DataPoints = { new ExponentialHistogramDataPoint { Count = 1, Attributes = { a } } } }, m => m.ExponentialHistogram.DataPoints[0].Attributes);
        yield return Metric("summary data point attribute", (m, a) => m.Summary = new Summary { DataPoints = { new SummaryDataPoint { Count = 1, Attributes = { a } } } }, m => m.Summary.DataPoints[0].Attributes);
        yield return Metric("exemplar filtered attribute", (m, a) => m.Sum = new Sum { DataPoints = { new NumberDataPoint { AsInt = 1, Exemplars = { new Exemplar { AsInt = 1, FilteredAttributes = { a } } } } } }, m => m.Sum.DataPoints[0].Exemplars[0].FilteredAttributes);
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _port = Ports.Free();
        _collector = await RunningCollector.StartAsync(
            $$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{_port}}" } } }
            processors:
              redaction/all:
                detectors: {{AllDetectorsYaml}}
                blocked_key_patterns: ["(?i)authorization", "(?i)password|secret"]
                blocked_values: ["\\bACME-[0-9]{6}\\b"]
                summary: true
            exporters:
              capture:
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
              pipelines:
                traces: { receivers: [otlp], processors: [redaction/all], exporters: [capture] }
                logs: { receivers: [otlp], processors: [redaction/all], exporters: [capture] }
                metrics: { receivers: [otlp], processors: [redaction/all], exporters: [capture] }
            """,
            new CaptureExporterFactory(_store));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _collector.DisposeAsync();

    [TestCaseSource(nameof(TraceLocations))]
    public async Task Traces_are_redacted_at(Action<ResourceSpans, string> plant, Func<ResourceSpans, string> read, string expected)
    {
        var resource = await RoundTripAsync(plant);

        Assert.That(read(resource), Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(LogLocations))]
    public async Task Logs_are_redacted_at(Action<ResourceLogs, string> plant, Func<ResourceLogs, string> read, string expected)
    {
        var testId = Guid.NewGuid().ToString();
        var resource = new ResourceLogs { Resource = Marked(testId), ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { TimeUnixNano = 1 } } } } };
        plant(resource, Secret);

        await PostAsync(_port, "/v1/logs", new ExportLogsServiceRequest { ResourceLogs = { resource } });
        var received = await ReceivedAsync<ResourceLogs>(testId, r => r.Resource);

        Assert.That(read(received), Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(MetricLocations))]
    public async Task Metrics_are_redacted_at(Action<Metric, KeyValue> plant, Func<Metric, IList<KeyValue>> attributesOf)
    {
        var testId = Guid.NewGuid().ToString();
        var metric = new Metric { Name = "gen_ai.client.token.usage" };
        plant(metric, Attr("gen_ai.prompt.preview", Str(Secret)));
        var resource = new ResourceMetrics { Resource = Marked(testId), ScopeMetrics = { new ScopeMetrics { Metrics = { metric } } } };

        await PostAsync(_port, "/v1/metrics", new ExportMetricsServiceRequest { ResourceMetrics = { resource } });
        var received = await ReceivedAsync<ResourceMetrics>(testId, r => r.Resource);

        var attributes = attributesOf(received.ScopeMetrics[0].Metrics[0]);
        Assert.That(attributes.Select(a => (a.Key, a.Value.StringValue)), Is.EqualTo(new[] { ("gen_ai.prompt.preview", Masked) }), "no summary attributes on points");
    }

    [Test]
    public async Task Blocked_keys_and_blocked_values_apply_through_the_pipeline()
    {
        var resource = await RoundTripAsync((r, _) =>
        {
            var span = SpanOf(r);
            span.Attributes.Add(Attr("http.request.header.authorization", Array(Str("Bearer abc"))));
            span.Attributes.Add(Attr("db.password", new AnyValue { IntValue = 1234 }));
            span.Attributes.Add(Attr("ticket", Str("see ACME-123456 and ACME-1234567")));
        });

        var attributes = SpanOf(resource).Attributes;
        Assert.That(Value(attributes, "http.request.header.authorization"), Is.EqualTo("****"));
        Assert.That(Value(attributes, "db.password"), Is.EqualTo("****"));
        Assert.That(Value(attributes, "ticket"), Is.EqualTo("see **** and ACME-1234567"));
    }

    [Test]
    public async Task A_changed_span_carries_a_summary_and_a_clean_one_is_untouched()
    {
        var testId = Guid.NewGuid().ToString();
        var request = new ExportTraceServiceRequest { ResourceSpans = { NewResourceSpans(testId) } };
        var dirty = SpanOf(request.ResourceSpans[0]);
        dirty.Attributes.Add(Attr("input.value", Str(Secret)));
        dirty.Attributes.Add(Attr("user.password", Str("x")));
        dirty.Events.Add(Event("e", Attr("gen_ai.prompt", Str("mail bob@example.com"))));
        dirty.Status = new Status { Message = "failed for 10.0.0.1" };
        var clean = TestData.Span("clean");
        clean.Attributes.Add(Attr("input.value", Str("Summarise release 1.2.3.4.5 for the task-list")));
        request.ResourceSpans[0].ScopeSpans[0].Spans.Add(clean);
        var cleanBefore = clean.Clone();

        await PostAsync(_port, "/v1/traces", request);
        var received = await ReceivedAsync<ResourceSpans>(testId, r => r.Resource);

        var spans = received.ScopeSpans[0].Spans;
        Assert.That(Find(spans[0].Attributes, "redaction.masked.count").IntValue, Is.EqualTo(6));
        Assert.That(Value(spans[0].Attributes, "redaction.masked.keys"), Is.EqualTo("gen_ai.prompt,input.value,status.message,user.password"));
        Assert.That(spans[1], Is.EqualTo(cleanBefore));
        Assert.That(received.Resource.Attributes.Select(a => a.Key), Is.EqualTo(new[] { "test.id" }), "no summary on an unchanged resource");
    }

    [Test]
    public async Task Self_metrics_count_masked_values_by_rule()
    {
        var metrics = _collector.Host.Metrics;
        const string name = "collector_processor_redaction_masked_values_total";
        var emailBefore = metrics.Read(name, ("processor", "redaction/all"), ("rule", "email"));
        var jwtBefore = metrics.Read(name, ("processor", "redaction/all"), ("rule", "jwt"));

        await RoundTripAsync((r, _) => SpanOf(r).Attributes.Add(Attr("a", Str("a@example.com b@example.com c@example.com"))));

        Assert.That(metrics.Read(name, ("processor", "redaction/all"), ("rule", "email")) - emailBefore, Is.EqualTo(3));
        Assert.That(metrics.Read(name, ("processor", "redaction/all"), ("rule", "jwt")) - jwtBefore, Is.Zero);
    }

    [Test]
    public async Task A_ten_megabyte_value_and_ten_thousand_deep_json_pass_quickly_and_redacted()
    {
        var huge = new string('x', 10 * 1024 * 1024 - 100) + " bob@example.com";
        var deep = new string('[', 10_000) + "\"bob@example.com\"" + new string(']', 10_000);
        var deepObjects = string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "\"sk-abcdefghijklmnopqrstuvwxyz0123\"" + new string('}', 10_000);
        var oversizedBefore = _collector.Host.Metrics.Read("collector_processor_redaction_oversized_values_total", ("processor", "redaction/all"));
        var watch = Stopwatch.StartNew();

        var resource = await RoundTripAsync((r, _) =>
        {
            SpanOf(r).Attributes.Add(Attr("huge", Str(huge)));
            SpanOf(r).Attributes.Add(Attr("deep", Str(deep)));
            SpanOf(r).Attributes.Add(Attr("deep.objects", Str(deepObjects)));
        });

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        var attributes = SpanOf(resource).Attributes;
        Assert.That(Value(attributes, "huge"), Is.EqualTo("****"), "over max_value_bytes: masked whole, unscanned");
        Assert.That(Value(attributes, "deep"), Is.EqualTo(new string('[', 10_000) + "\"****\"" + new string(']', 10_000)), "too deep to parse: scanned as text");
        Assert.That(Value(attributes, "deep.objects"), Does.EndWith("\"****\"" + new string('}', 10_000)));
        Assert.That(_collector.Host.Metrics.Read("collector_processor_redaction_oversized_values_total", ("processor", "redaction/all")) - oversizedBefore, Is.EqualTo(1));
    }

    private static TestCaseData Trace(string location, Action<ResourceSpans, string> plant, Func<ResourceSpans, string> read, bool json = false) =>
        new TestCaseData(plant, read, json ? Messages(Masked) : Masked).SetArgDisplayNames(location);

    private static TestCaseData Log(string location, Action<ResourceLogs, string> plant, Func<ResourceLogs, string> read, bool json = false) =>
        new TestCaseData(plant, read, json ? Messages(Masked) : Masked).SetArgDisplayNames(location);

    private static TestCaseData Metric(string location, Action<Metric, KeyValue> plant, Func<Metric, IList<KeyValue>> attributesOf) =>
        new TestCaseData(plant, attributesOf).SetArgDisplayNames(location);

    /// <summary>A chat transcript as GenAI instrumentations put it in one string attribute.</summary>
    private static string Messages(string userText) =>
        $$"""[{"role":"system","content":"You are a billing assistant."},{"role":"user","content":"{{userText}}"}]""";

    private async Task<ResourceSpans> RoundTripAsync(Action<ResourceSpans, string> plant)
    {
        var testId = Guid.NewGuid().ToString();
        var resource = NewResourceSpans(testId);
        plant(resource, Secret);
        await PostAsync(_port, "/v1/traces", new ExportTraceServiceRequest { ResourceSpans = { resource } });
        return await ReceivedAsync<ResourceSpans>(testId, r => r.Resource);
    }

    private async Task<T> ReceivedAsync<T>(string testId, Func<T, Resource> resourceOf)
        where T : IMessage
    {
        T? found = default;
        await Poll.UntilAsync(
            () =>
            {
                found = _store.Get<T>(Capture).FirstOrDefault(r => resourceOf(r).Attributes.Any(a => a.Key == "test.id" && a.Value.StringValue == testId));
                return found is not null;
            },
            TimeSpan.FromSeconds(20),
            $"resource {testId} at the capture exporter");
        return found!;
    }

    private static ResourceSpans NewResourceSpans(string testId) => new()
    {
        Resource = Marked(testId),
        ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "test" }, Spans = { TestData.Span("chat gpt-4o") } } },
    };

    private static Resource Marked(string testId) => new() { Attributes = { Attr("test.id", Str(testId)) } };

    private static Span SpanOf(ResourceSpans resource) => resource.ScopeSpans[0].Spans[0];

    private static LogRecord RecordOf(ResourceLogs resource) => resource.ScopeLogs[0].LogRecords[0];

    private static Span.Types.Event Event(string name, KeyValue attribute) => new() { Name = name, TimeUnixNano = 1, Attributes = { attribute } };

    private static AnyValue Find(IEnumerable<KeyValue> attributes, string key) => attributes.Single(a => a.Key == key).Value;

    private static string Value(IEnumerable<KeyValue> attributes, string key) => Find(attributes, key).StringValue;
}
