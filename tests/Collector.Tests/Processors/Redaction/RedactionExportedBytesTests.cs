using System.Text;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>
/// A real collector (otlp receiver, redaction, otlphttp exporter with protobuf bodies, so strings
/// are on the wire verbatim) delivering to a real HTTP backend: secrets planted in every stored
/// location and in every evasion form are absent from the bytes the backend received, the
/// fail-closed summary lists no secret, and a clean span arrives byte-identical.
/// </summary>
public sealed class RedactionExportedBytesTests
{
    private static readonly string[] Plain = ["bob@corp-example.com", "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "4111111111111111"];

    [Test]
    public async Task Planted_secrets_in_every_location_and_evasion_form_never_reach_the_backend()
    {
        await using var scanned = await HttpTestBackend.StartAsync();
        await using var closed = await HttpTestBackend.StartAsync();
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync($$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              redaction/scan: { detectors: {{AllDetectorsYaml}}, summary: true }
              redaction/closed: { detectors: {{AllDetectorsYaml}}, summary: true, allowed_keys: [gen_ai.request.model] }
            exporters:
              otlphttp/scanned: { endpoint: "{{scanned.BaseUrl}}", encoding: proto, compression: none }
              otlphttp/closed: { endpoint: "{{closed.BaseUrl}}", encoding: proto, compression: none }
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
              pipelines:
                traces/scan: { receivers: [otlp], processors: [redaction/scan], exporters: [otlphttp/scanned] }
                traces/closed: { receivers: [otlp], processors: [redaction/closed], exporters: [otlphttp/closed] }
                logs/scan: { receivers: [otlp], processors: [redaction/scan], exporters: [otlphttp/scanned] }
            """);

        var clean = new Span { TraceId = ByteString.CopyFrom(new byte[16] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }), SpanId = ByteString.CopyFrom([9, 9, 9, 9, 9, 9, 9, 9]), Name = "chat gpt-4o 50% off", TraceState = "rojo=00f067aa0ba902b7", Attributes = { Attr("url.full", Str("https://x.example/?q=red%20shoes")), Attr("note", Str("Grüße aus Köln")) } };
        var traces = new ExportTraceServiceRequest { ResourceSpans = { RedactionLocationsTests.PlantedSpans() } };
        traces.ResourceSpans[0].ScopeSpans[0].Spans.Add(clean);
        var secrets = new List<string>(Plain);
        foreach (var (_, text, secret) in RedactionEvasionTests.Evasions)
        {
            secrets.Add(secret);
            traces.ResourceSpans.Add(new ResourceSpans
            {
                SchemaUrl = text,
                ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = text, Version = text }, Spans = { new Span { Name = text, TraceState = "v=" + text, Attributes = { Attr(text, Str(text)) }, Events = { new Span.Types.Event { Name = text } } } } } },
            });
        }

        // Valid ids, or the receiver rejects the spans as partial_success.
        var next = (byte)20;
        foreach (var span in traces.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Where(s => s.SpanId.IsEmpty))
        {
            (span.TraceId, span.SpanId) = (clean.TraceId, ByteString.CopyFrom([next++, 1, 1, 1, 1, 1, 1, 1]));
        }

        var logs = new ExportLogsServiceRequest { ResourceLogs = { RedactionLocationsTests.PlantedLogs() } };
        var sent = traces.ToByteArray();
        Assert.That(secrets.TrueForAll(s => Contains(sent, s)), Is.True, "control: every secret is in what was sent");

        await PostAsync(port, "/v1/traces", traces);
        await PostAsync(port, "/v1/logs", logs);
        await Poll.UntilAsync(() => scanned.Calls.Count >= 2 && !closed.Calls.IsEmpty, TimeSpan.FromSeconds(30), "both backends received the data");

        for (var i = 0; i < secrets.Count; i++)
        {
            foreach (var call in scanned.Calls.Concat(closed.Calls))
            {
                Assert.That(Contains(call.Body, secrets[i]), Is.False, $"planted secret #{i} reached {call.Path}");
            }
        }

        var scannedSpans = Spans(scanned);
        Assert.That(scannedSpans.Single(s => s.SpanId == clean.SpanId).ToByteArray(), Is.EqualTo(clean.ToByteArray()), "the clean span arrives byte-identical");
        var removed = Spans(closed).Single(s => s.Name == "call ****").Attributes.Single(a => a.Key == "redaction.removed.keys").Value.StringValue;
        Assert.That(removed, Does.Contain("user=****").And.Contain("nested"));
    }

    private static List<Span> Spans(HttpTestBackend backend) =>
        [.. backend.Calls.Where(c => c.Path.EndsWith("/v1/traces", StringComparison.Ordinal))
            .SelectMany(c => ExportTraceServiceRequest.Parser.ParseFrom(c.Body).ResourceSpans).SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)];

    private static bool Contains(byte[] haystack, string secret) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0;
}
