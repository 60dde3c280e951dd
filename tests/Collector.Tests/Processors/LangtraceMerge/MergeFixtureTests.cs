using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>
/// The fixture corpus through the real pipeline: OTLP/JSON requests POSTed to the otlp receiver
/// over loopback, a traces and a logs pipeline both listing langtrace_merge, capture exporters.
/// Each Fixtures/merge-&lt;name&gt;/ holds the requests (NN-traces.json / NN-logs.json, sent in name
/// order), an optional fixture.json (description, wait, gapMs between requests) and expected.json:
/// every captured span and log record as OTLP/JSON with its service and scope, sorted by id,
/// plus the merge counters. Set COLLECTOR_UPDATE_FIXTURES=1 to rewrite expected.json from the
/// current output (then review the diff).
/// </summary>
public sealed class MergeFixtureTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Processors", "LangtraceMerge", "Fixtures");
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static IEnumerable<string> Fixtures() =>
        Directory.GetDirectories(Root, "merge-*").Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal);

    [Test]
    public void The_corpus_covers_the_required_scenarios()
    {
        Assert.That(Fixtures(), Is.SupersetOf(new[]
        {
            "merge-otel-langtrace-parent-child", "merge-otel-langtrace-siblings", "merge-openllmetry-otel", "merge-openinference-otel",
            "merge-rag-tool-calls", "merge-events-before-after", "merge-duplicate-events", "merge-orphan-events", "merge-streamed-completion",
            "merge-conflicting-tokens",
        }));
    }

    [TestCaseSource(nameof(Fixtures))]
    public async Task Fixture_output_matches_expected(string name)
    {
        var directory = Path.Combine(Root, name);
        var settings = File.Exists(Path.Combine(directory, "fixture.json"))
            ? JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "fixture.json")))!.AsObject()
            : [];
        var wait = settings["wait"]?.GetValue<string>() ?? "200ms";
        var gap = TimeSpan.FromMilliseconds(settings["gapMs"]?.GetValue<int>() ?? 0);
        var expectedPath = Path.Combine(directory, "expected.json");
        var update = Environment.GetEnvironmentVariable("COLLECTOR_UPDATE_FIXTURES") == "1";
        var expected = update ? null : JsonNode.Parse(await File.ReadAllTextAsync(expectedPath))!.AsObject();

        var store = new CaptureStore();
        var port = Ports.Free();
        var yaml = $$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              langtrace_merge: { wait: {{wait}} }
            exporters:
              capture/traces:
              capture/logs:
            service:
              pipelines:
                traces: { receivers: [otlp], processors: [langtrace_merge], exporters: [capture/traces] }
                logs: { receivers: [otlp], processors: [langtrace_merge], exporters: [capture/logs] }
            """;
        SelfMetrics metrics;
        await using (var collector = await RunningCollector.StartAsync(yaml, new CaptureExporterFactory(store)))
        {
            metrics = collector.Host.Metrics;
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var first = true;
            foreach (var file in Directory.GetFiles(directory, "??-*.json").Order(StringComparer.Ordinal))
            {
                if (!first && gap > TimeSpan.Zero)
                {
                    await Task.Delay(gap);
                }

                first = false;
                var signal = file.EndsWith("-traces.json", StringComparison.Ordinal) ? "traces" : "logs";
                using var content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync($"/v1/{signal}", content);
                Assert.That((int)response.StatusCode, Is.EqualTo(200), $"{Path.GetFileName(file)}: {await response.Content.ReadAsStringAsync()}");
            }

            if (expected is not null)
            {
                // Flushed by the expiry loop after wait, not by shutdown.
                int spans = expected["spans"]!.AsArray().Count, logs = expected["logs"]!.AsArray().Count;
                await Poll.UntilAsync(
                    () => Spans(store).Count == spans && Logs(store).Count == logs,
                    TimeSpan.FromSeconds(10),
                    $"{spans} spans and {logs} log records");
            }
        }

        var actual = Normalize(store, metrics);
        if (update)
        {
            await File.WriteAllTextAsync(expectedPath, actual.ToJsonString(Indented) + "\n");
            var source = Path.Combine(FindSourceFixtures(), name, "expected.json");
            await File.WriteAllTextAsync(source, actual.ToJsonString(Indented) + "\n");
            expected = actual;
        }

        Assert.That(JsonNode.DeepEquals(actual, expected), Is.True, $"{name} captured:\n{actual.ToJsonString(Indented)}");
    }

    [Test]
    public async Task Behind_dedup_and_ahead_of_conflict_resolution_a_retried_rag_request_counts_each_call_once()
    {
        var directory = Path.Combine(Root, "merge-rag-tool-calls");
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "expected.json")))!["spans"]!.AsArray();
        var store = new CaptureStore();
        var port = Ports.Free();
        var yaml = $$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              dedup:
              langtrace_merge: { wait: 200ms }
              conflict_resolution: { target: otel_genai }
            exporters:
              capture/traces:
              capture/logs:
            service:
              pipelines:
                traces: { receivers: [otlp], processors: [dedup, langtrace_merge, conflict_resolution], exporters: [capture/traces] }
                logs: { receivers: [otlp], processors: [dedup, langtrace_merge], exporters: [capture/logs] }
            """;
        await using (var collector = await RunningCollector.StartAsync(yaml, new CaptureExporterFactory(store)))
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            // Every request twice, as an SDK does when the first answer was lost.
            foreach (var file in Directory.GetFiles(directory, "??-*.json").Order(StringComparer.Ordinal).SelectMany(f => new[] { f, f }))
            {
                var signal = file.EndsWith("-traces.json", StringComparison.Ordinal) ? "traces" : "logs";
                using var content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync($"/v1/{signal}", content);
                Assert.That((int)response.StatusCode, Is.EqualTo(200));
            }

            await Poll.UntilAsync(() => Spans(store).Count == expected.Count, TimeSpan.FromSeconds(10), $"{expected.Count} spans");
        }

        var spans = Spans(store).Select(x => x.Span).ToList();
        Assert.That(spans.Select(s => Convert.ToHexStringLower(s.SpanId.ToByteArray())), Is.EquivalentTo(expected.Select(e => e!["span"]!["spanId"]!.GetValue<string>())));
        Assert.That(Logs(store), Is.Empty, "every event merged once; the retried copies were dropped by dedup");
        var llm = spans.Where(GenAiConventions.IsLlmSpan).ToList();
        Assert.That(llm.Sum(s => (GenAiConventions.InputTokens(s) ?? 0) + (GenAiConventions.OutputTokens(s) ?? 0)), Is.EqualTo(212 + 24 + 268 + 57 + 14));
        Assert.That(llm.Where(s => s.Name != "embeddings text-embedding-3-small").Select(s => OtlpAttributes.Find(s.Attributes, "gen_ai.usage.total_tokens")?.IntValue), Is.EquivalentTo(new long?[] { 236, 325 }));
    }

    private static List<(ResourceSpans Resource, ScopeSpans Scope, Span Span)> Spans(CaptureStore store) =>
        [.. from r in store.Get<ResourceSpans>("capture/traces") from s in r.ScopeSpans from span in s.Spans select (r, s, span)];

    private static List<(ResourceLogs Resource, ScopeLogs Scope, LogRecord Record)> Logs(CaptureStore store) =>
        [.. from r in store.Get<ResourceLogs>("capture/logs") from s in r.ScopeLogs from record in s.LogRecords select (r, s, record)];

    private static JsonObject Normalize(CaptureStore store, SelfMetrics metrics)
    {
        var spans = new JsonArray();
        foreach (var (resource, scope, span) in Spans(store).OrderBy(x => x.Span.SpanId.ToBase64(), StringComparer.Ordinal))
        {
            spans.Add(new JsonObject
            {
                ["service"] = ServiceName(resource.Resource),
                ["scope"] = scope.Scope?.Name,
                ["span"] = JsonNode.Parse(OtlpJson.Format(span)),
            });
        }

        var logs = new JsonArray();
        foreach (var (resource, scope, record) in Logs(store).OrderBy(x => x.Record.SpanId.ToBase64(), StringComparer.Ordinal).ThenBy(x => x.Record.TimeUnixNano))
        {
            logs.Add(new JsonObject
            {
                ["service"] = ServiceName(resource.Resource),
                ["scope"] = scope.Scope?.Name,
                ["logRecord"] = JsonNode.Parse(OtlpJson.Format(record)),
            });
        }

        long Read(string metric, params (string, string)[] labels) => (long)metrics.Sum("collector_processor_langtrace_merge_" + metric, labels);
        return new JsonObject
        {
            ["counters"] = new JsonObject
            {
                ["dual_link_merged"] = Read("dual_link_merged_total"),
                ["events.duplicate"] = Read("events_total", ("outcome", "duplicate")),
                ["events.semantic"] = Read("events_total", ("outcome", "semantic")),
                ["events.span_event"] = Read("events_total", ("outcome", "span_event")),
                ["events.orphan"] = Read("events_total", ("outcome", "orphan")),
                ["conflicts"] = Read("conflicts_total"),
                ["early_flushes"] = Read("early_flushes_total"),
                ["bad_input"] = Read("bad_input_total"),
            },
            ["spans"] = spans,
            ["logs"] = logs,
        };
    }

    private static string? ServiceName(OpenTelemetry.Proto.Resource.V1.Resource? resource) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value.StringValue;

    /// <summary>The fixtures folder in the source tree (update mode writes there too).</summary>
    private static string FindSourceFixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Collector.Tests", "Processors", "LangtraceMerge", "Fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Collector.Tests/Processors/LangtraceMerge/Fixtures");
    }
}
