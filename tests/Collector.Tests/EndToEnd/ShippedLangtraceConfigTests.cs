using System.Diagnostics;
using System.Globalization;
using Collector.Tests.Exporters;
using Collector.Tests.LangtraceInterop.StandIn;
using Collector.Tests.TestSupport;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Collector.Tests.EndToEnd;

/// <summary>
/// The shipped config/langtrace.yaml run as a real collector process, fed by the OpenTelemetry .NET
/// SDK's OTLP/gRPC exporter with its default 10 s timeout. Durable ingress answers each export at the
/// commit; before it the answer waited for langtrace_merge, batch and the Langtrace exporter (~13 s),
/// so every export hit DEADLINE_EXCEEDED and clients that retried delivered duplicates.
/// </summary>
[NonParallelizable]
public sealed class ShippedLangtraceConfigTests
{
    private const string ApiKey = "lt-shipped-config-key-2718";
    private const int Traces = 150;

    /// <summary>
    /// Not a multiple of the Langtrace exporter's batch_size (50), as an app's exports rarely are: before
    /// durable ingress the spans left in a partial group held the answer for its flush_interval (10 s).
    /// </summary>
    private const int SpansPerExport = 60;

    /// <summary>
    /// Far above a commit (milliseconds) even on a loaded two-core machine (first-call JIT, fsync), far
    /// below both the ~13 s the answer took before durable ingress and the SDK's 10 s deadline.
    /// </summary>
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(25);

    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("collector-shipped-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The shipped file with only its five listen addresses moved to free loopback ports; each must be
    /// found exactly once, so that a change to the file shows up here instead of silently testing less.
    /// </summary>
    private static string ShippedConfigOnLoopback(out int grpcPort, out int healthPort)
    {
        var yaml = File.ReadAllText(RepositoryFiles.PathOf("config/langtrace.yaml"));
        grpcPort = Ports.Free();
        healthPort = Ports.Free();
        foreach (var (shipped, port) in new[]
        {
            ("0.0.0.0:4317", grpcPort), // otlp gRPC receiver
            ("0.0.0.0:4318", Ports.Free()), // otlp HTTP receiver
            ("0.0.0.0:3000", Ports.Free()), // langtrace receiver
            ("0.0.0.0:13133", healthPort), // health_check
            ("0.0.0.0:8888", Ports.Free()), // /metrics
        })
        {
            var at = yaml.IndexOf(shipped, StringComparison.Ordinal);
            Assert.That(at, Is.GreaterThanOrEqualTo(0).And.EqualTo(yaml.LastIndexOf(shipped, StringComparison.Ordinal)), $"{shipped} once in config/langtrace.yaml");
            yaml = yaml.Replace(shipped, "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        return yaml;
    }

    [Test]
    public async Task Sdk_exports_to_the_shipped_langtrace_config_are_answered_at_once_and_each_span_is_stored_once_in_both_sinks()
    {
        await using var standIn = await LangtraceStandIn.StartAsync(new Dictionary<string, string> { [ApiKey] = "shipped" });
        await using var backend = await GrpcTestBackend.StartAsync();
        var configPath = Path.Combine(_dir, "langtrace.yaml");
        await File.WriteAllTextAsync(configPath, ShippedConfigOnLoopback(out var grpcPort, out var healthPort));
        var environment = new Dictionary<string, string>
        {
            ["LANGTRACE_ENDPOINT"] = standIn.Url,
            ["LANGTRACE_API_KEY"] = ApiKey,
            ["OTLP_BACKEND"] = "http://" + backend.Endpoint,
            ["COLLECTOR_SPOOL_DIR"] = Path.Combine(_dir, "spool"),
        };
        using var collector = CollectorProcess.StartWithEnvironment(environment, "--config", configPath);
        await collector.WaitUntilHealthyAsync(healthPort);

        var batches = LlmTraces(Traces);
        var answers = new List<(TimeSpan Took, ExportResult Result)>();
        var options = new OtlpExporterOptions { Endpoint = new Uri($"http://127.0.0.1:{grpcPort}"), Protocol = OtlpExportProtocol.Grpc };
        Assert.That(options.TimeoutMilliseconds, Is.EqualTo(10_000), "the SDK's default timeout, left as applications leave it");
        var exporter = new OtlpTraceExporter(options);

        // The provider only gives the exporter its resource (service.name); each Export is called here,
        // one after the other as the SDK's batch processor calls it, so its answer time is measured.
        using (Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("llm-chat-app"))
            .AddProcessor(new SimpleActivityExportProcessor(exporter))
            .Build())
        {
            foreach (var batch in batches)
            {
                var clock = Stopwatch.StartNew();
                var result = exporter.Export(new Batch<Activity>(batch, batch.Length));
                answers.Add((clock.Elapsed, result));
            }
        }

        var took = answers.Select(a => a.Took).Order().ToList();
        TestContext.Out.WriteLine($"{answers.Count} exports of {SpansPerExport} spans: median {took[took.Count / 2].TotalMilliseconds:0} ms, max {took[^1].TotalMilliseconds:0} ms (in order: {string.Join(", ", answers.Select(a => a.Took.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))} ms)");
        Assert.Multiple(() =>
        {
            Assert.That(answers.Select(a => a.Result), Is.All.EqualTo(ExportResult.Success), collector.Output);
            Assert.That(took[^1], Is.LessThan(AnswerBound), "the answer is the commit, not the processors' hold");
        });

        var sent = batches.SelectMany(b => b).Select(a => a.SpanId.ToHexString()).ToHashSet();
        await Poll.UntilAsync(() => sent.IsSubsetOf(standIn.Stored.Select(s => s.SpanId!)), Deadline, $"{sent.Count} spans stored by Langtrace");
        await Poll.UntilAsync(() => sent.IsSubsetOf(BackendSpanIds(backend)), Deadline, $"{sent.Count} spans at the OTLP backend");

        // A clean stop flushes whatever is still held, so any duplicate would be in by the time it exits.
        collector.Signal("TERM");
        Assert.That(await collector.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, collector.Output);
        Assert.Multiple(() =>
        {
            Assert.That(standIn.Stored.Select(s => s.SpanId), Is.EquivalentTo(sent), "Langtrace stored each span exactly once");
            Assert.That(BackendSpanIds(backend), Is.EquivalentTo(sent), "the OTLP backend got each span exactly once");
            Assert.That(standIn.Requests.Select(r => r.Status), Is.All.EqualTo(200));
        });
    }

    /// <summary>Span ids (hex) of every span the backend received, with repetition.</summary>
    private static List<string> BackendSpanIds(GrpcTestBackend backend)
    {
        var ids = new List<string>();
        foreach (var call in backend.Calls)
        {
            if (call.Request is not ExportTraceServiceRequest request)
            {
                continue;
            }

            foreach (var rs in request.ResourceSpans)
            {
                foreach (var ss in rs.ScopeSpans)
                {
                    foreach (var span in ss.Spans)
                    {
                        ids.Add(Convert.ToHexStringLower(span.SpanId.Span));
                    }
                }
            }
        }

        return ids;
    }

    /// <summary>
    /// <paramref name="traces"/> chat requests as an instrumented LLM app records them (an HTTP server
    /// span, a retrieval span, and an OpenTelemetry GenAI chat span with usage and prompt/completion
    /// events), cut into the exports the SDK's batch processor would make.
    /// </summary>
    private static List<Activity[]> LlmTraces(int traces)
    {
        using var source = new ActivitySource("llm-chat-app.shipped-config");
        var finished = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = finished.Add,
        };
        ActivitySource.AddActivityListener(listener);
        for (var i = 0; i < traces; i++)
        {
            using var root = source.StartActivity("POST /v1/chat", ActivityKind.Server)!;
            root.SetTag("http.request.method", "POST");
            root.SetTag("http.route", "/v1/chat");
            root.SetTag("user.id", "user-" + (i % 17).ToString(CultureInfo.InvariantCulture));
            using (var retrieval = source.StartActivity("vector_search docs", ActivityKind.Client)!)
            {
                retrieval.SetTag("db.system.name", "qdrant");
                retrieval.SetTag("db.operation.name", "search");
                retrieval.SetTag("app.retrieved_documents", 4 + (i % 3));
            }

            using var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!;
            var question = $"Question {i}: summarise the refund policy for order {1000 + i} in three sentences, citing the attached documents.";
            chat.SetTag("gen_ai.operation.name", "chat");
            chat.SetTag("gen_ai.provider.name", "openai");
            chat.SetTag("gen_ai.request.model", "gpt-4o");
            chat.SetTag("gen_ai.response.model", "gpt-4o-2024-08-06");
            chat.SetTag("gen_ai.request.temperature", 0.2);
            chat.SetTag("gen_ai.request.max_tokens", 512);
            chat.SetTag("gen_ai.usage.input_tokens", 850 + i);
            chat.SetTag("gen_ai.usage.output_tokens", 120 + (i % 40));
            chat.SetTag("gen_ai.response.finish_reasons", new[] { "stop" });
            chat.AddEvent(new ActivityEvent("gen_ai.content.prompt", tags: new ActivityTagsCollection
            {
                ["gen_ai.prompt"] = $"[{{\"role\":\"system\",\"content\":\"You answer from the documents only.\"}},{{\"role\":\"user\",\"content\":\"{question}\"}}]",
            }));
            chat.AddEvent(new ActivityEvent("gen_ai.content.completion", tags: new ActivityTagsCollection
            {
                ["gen_ai.completion"] = "[{\"role\":\"assistant\",\"content\":\"Refunds are issued within 14 days of the return being received. Items must be unused. Shipping costs are not refunded.\"}]",
            }));
        }

        Assert.That(finished, Has.Count.EqualTo(traces * 3));
        return finished.Chunk(SpansPerExport).ToList();
    }
}
