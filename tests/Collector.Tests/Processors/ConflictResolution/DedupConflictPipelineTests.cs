using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Collector.Pipeline.Otlp;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.ConflictResolution;

/// <summary>
/// The real pipeline: OTLP/HTTP JSON posted to the otlp receiver on loopback, through
/// [dedup, conflict_resolution] (defaults), to a capture exporter; the captured spans must equal
/// the fixture's expected.json (attributes compared sorted by key, everything else as is).
/// </summary>
[NonParallelizable]
public sealed class DedupConflictPipelineTests
{
    private static string FixtureDirectory(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Processors", "ConflictResolution", "Fixtures", name);

    private static string Yaml(int port) => $$"""
        receivers:
          otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
        processors:
          dedup:
          conflict_resolution:
        exporters:
          capture:
        service:
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines:
            traces: { receivers: [otlp], processors: [dedup, conflict_resolution], exporters: [capture] }
        """;

    /// <param name="name">Fixture folder under Processors/ConflictResolution/Fixtures.</param>
    /// <param name="posts">How often input.json is posted (a client retrying a request it thinks failed).</param>
    [TestCase("conflicting_tokens", 1)]
    [TestCase("openllmetry_prompts", 1)]
    [TestCase("client_retry_duplicates", 3)]
    public async Task Fixture_through_otlp_http_dedup_and_conflict_resolution(string name, int posts)
    {
        var input = await File.ReadAllTextAsync(Path.Combine(FixtureDirectory(name), "input.json"));
        var expected = Parse(await File.ReadAllTextAsync(Path.Combine(FixtureDirectory(name), "expected.json")));
        var inputSpans = CountSpans(Parse(input));
        var store = new CaptureStore();
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(Yaml(port), new CaptureExporterFactory(store));
        using var client = new HttpClient();

        for (var i = 0; i < posts; i++)
        {
            using var response = await client.PostAsync($"http://127.0.0.1:{port}/v1/traces", new StringContent(input, Encoding.UTF8, "application/json"));
            Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
        }

        // Every posted span is either captured or counted as a dropped duplicate.
        var metrics = collector.Host.Metrics;
        await Poll.UntilAsync(
            () => CountSpans(Captured(store)) + metrics.Read("collector_processor_dedup_dropped_spans_total", ("processor", "dedup")) >= posts * inputSpans,
            TimeSpan.FromSeconds(10),
            "all posted spans to be captured or dropped");

        var actual = Captured(store);
        Assert.That(Canonical(actual), Is.EqualTo(Canonical(expected)), $"captured:\n{Pretty(actual)}");
        Assert.That(metrics.Read("collector_processor_dedup_dropped_spans_total", ("processor", "dedup")), Is.EqualTo((posts - 1) * inputSpans));
    }

    private static ExportTraceServiceRequest Parse(string json) => OtlpJson.Parse(Encoding.UTF8.GetBytes(json), ExportTraceServiceRequest.Parser);

    private static ExportTraceServiceRequest Captured(CaptureStore store)
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.AddRange(store.Get<ResourceSpans>("capture"));
        return request;
    }

    private static int CountSpans(ExportTraceServiceRequest request) => request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count));

    /// <summary>Attribute order is not part of the contract; everything else is.</summary>
    private static ExportTraceServiceRequest Canonical(ExportTraceServiceRequest request)
    {
        var copy = request.Clone();
        foreach (var span in copy.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
        {
            Sort(span.Attributes);
            foreach (var e in span.Events)
            {
                Sort(e.Attributes);
            }
        }

        return copy;
    }

    private static void Sort(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes)
    {
        var sorted = attributes.OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
        attributes.Clear();
        attributes.AddRange(sorted);
    }

    private static string Pretty(ExportTraceServiceRequest request) =>
        JsonNode.Parse(OtlpJson.Format(Canonical(request)))!.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
