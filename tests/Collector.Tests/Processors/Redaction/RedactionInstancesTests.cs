using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>
/// Two named instances in two pipelines fed by one receiver: the internal OTLP pipeline masks
/// only credentials, the Langtrace one runs every detector in fail-closed mode.
/// </summary>
public sealed class RedactionInstancesTests
{
    [Test]
    public async Task Each_pipeline_gets_its_own_strictness_and_fail_closed_removes_unlisted_keys()
    {
        var store = new CaptureStore();
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(
            $$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              redaction/internal:
                detectors: [api_key, bearer_token, jwt]
                blocked_key_patterns: ["(?i)authorization"]
              redaction/langtrace:
                detectors: {{AllDetectorsYaml}}
                blocked_key_patterns: ["(?i)authorization"]
                allowed_keys: [gen_ai.request.model, gen_ai.prompt, user.email]
                summary: true
            exporters:
              capture/internal:
              capture/langtrace:
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
              pipelines:
                traces/internal: { receivers: [otlp], processors: [redaction/internal], exporters: [capture/internal] }
                traces/langtrace: { receivers: [otlp], processors: [redaction/langtrace], exporters: [capture/langtrace] }
            """,
            new CaptureExporterFactory(store));
        var span = TestData.Span("chat");
        span.Attributes.Add(Attr("gen_ai.request.model", Str("gpt-4o")));
        span.Attributes.Add(Attr("gen_ai.prompt", Str("I'm bob@example.com, key sk-abcdefghijklmnopqrstuvwxyz0123")));
        span.Attributes.Add(Attr("user.email", Str("bob@example.com")));
        span.Attributes.Add(Attr("enduser.id", Str("u-42")));
        span.Attributes.Add(Attr("http.request.header.authorization", Str("Basic dXNlcjpwYXNz")));
        span.Events.Add(new Span.Types.Event { Name = "tool_use", TimeUnixNano = 1, Attributes = { Attr("tool.input", Str("ping 10.0.0.1")) } });
        var resource = new ResourceSpans
        {
            Resource = new Resource { Attributes = { Attr("service.name", Str("chat-app")), Attr("host.name", Str("laptop-bob")) } },
            ScopeSpans = { new ScopeSpans { Spans = { span } } },
        };

        await PostAsync(port, "/v1/traces", new ExportTraceServiceRequest { ResourceSpans = { resource } });
        await Poll.UntilAsync(() => store.Get<ResourceSpans>("capture/internal").Count == 1 && store.Get<ResourceSpans>("capture/langtrace").Count == 1, TimeSpan.FromSeconds(20), "both pipelines");

        var internalResource = store.Get<ResourceSpans>("capture/internal")[0];
        var internalSpan = internalResource.ScopeSpans[0].Spans[0];
        Assert.That(Values(internalResource.Resource.Attributes), Is.EqualTo(new[] { "service.name=chat-app", "host.name=laptop-bob" }));
        Assert.That(Values(internalSpan.Attributes), Is.EqualTo(new[]
        {
            "gen_ai.request.model=gpt-4o",
            "gen_ai.prompt=I'm bob@example.com, key ****",
            "user.email=bob@example.com",
            "enduser.id=u-42",
            "http.request.header.authorization=****",
        }));
        Assert.That(Values(internalSpan.Events[0].Attributes), Is.EqualTo(new[] { "tool.input=ping 10.0.0.1" }));

        var langtraceResource = store.Get<ResourceSpans>("capture/langtrace")[0];
        var langtraceSpan = langtraceResource.ScopeSpans[0].Spans[0];
        Assert.That(Values(langtraceResource.Resource.Attributes), Is.EqualTo(new[]
        {
            "service.name=chat-app",
            "redaction.removed.count=1",
            "redaction.removed.keys=host.name",
        }));
        Assert.That(Values(langtraceSpan.Attributes), Is.EqualTo(new[]
        {
            "gen_ai.request.model=gpt-4o",
            "gen_ai.prompt=I'm ****, key ****",
            "user.email=****",
            "redaction.masked.count=3",
            "redaction.masked.keys=gen_ai.prompt,user.email",
            "redaction.removed.count=3",
            "redaction.removed.keys=enduser.id,http.request.header.authorization,tool.input",
        }));
        Assert.That(langtraceSpan.Events[0].Attributes, Is.Empty, "event attributes are attributes too");

        var metrics = collector.Host.Metrics;
        Assert.That(metrics.Read("collector_processor_redaction_removed_keys_total", ("processor", "redaction/langtrace")), Is.EqualTo(4));
        Assert.That(metrics.Read("collector_processor_redaction_removed_keys_total", ("processor", "redaction/internal")), Is.Zero);
        Assert.That(metrics.Sum("collector_processor_redaction_masked_values_total", ("processor", "redaction/internal")), Is.EqualTo(2));
    }

    private static List<string> Values(IEnumerable<KeyValue> attributes) =>
        attributes.Select(a => $"{a.Key}={(a.Value.ValueCase == AnyValue.ValueOneofCase.IntValue ? a.Value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : a.Value.StringValue)}").ToList();
}
