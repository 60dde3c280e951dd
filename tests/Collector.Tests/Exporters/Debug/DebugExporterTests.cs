using Collector.Exporters.Debug;
using Collector.Pipeline.Configuration;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog.Formatting.Display;

namespace Collector.Tests.Exporters;

public sealed class DebugExporterTests
{
    private static (ExporterTestKit Kit, DebugExporterFactory Factory, DebugExporterConfig Config) Create(DebugVerbosity verbosity)
    {
        var factory = new DebugExporterFactory();
        var config = (DebugExporterConfig)factory.CreateDefaultConfig();
        config.Verbosity = verbosity;
        return (new ExporterTestKit("debug"), factory, config);
    }

    /// <summary>The messages as the collector's console sink writes them (<c>{Message:lj}</c>: strings unquoted).</summary>
    private static List<string> AsWritten(ExporterTestKit kit)
    {
        var formatter = new MessageTemplateTextFormatter("{Message:lj}", System.Globalization.CultureInfo.InvariantCulture);
        var lines = new List<string>();
        foreach (var e in kit.Logs.Events)
        {
            using var text = new StringWriter();
            formatter.Format(e, text);
            lines.Add(text.ToString());
        }

        return lines;
    }

    /// <summary>Exports <paramref name="count"/> test spans, span <paramref name="failing"/> with status ERROR "rate limited"; returns the lines written.</summary>
    private static async Task<List<string>> ExportSpansWithOneErrorAsync(DebugVerbosity verbosity, int count, int failing)
    {
        var (kit, factory, config) = Create(verbosity);
        var exporter = factory.CreateExporter<ResourceSpans>(kit.Context, config);
        var batch = ExporterTestKit.Spans(count);
        batch.Resources[0].ScopeSpans[0].Spans[failing].Status = new Status { Code = Status.Types.StatusCode.Error, Message = "rate limited" };
        await exporter.ConsumeAsync(batch, CancellationToken.None);
        return AsWritten(kit);
    }

    [Test]
    public async Task Basic_logs_one_line_per_batch_with_counts()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Basic);
        var exporter = factory.CreateExporter<ResourceSpans>(kit.Context, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(7), CancellationToken.None);

        var lines = kit.Logs.Rendered();
        Assert.That(lines, Has.Count.EqualTo(1));
        Assert.That(lines[0], Does.Contain("7").And.Contain("spans"));
        Assert.That(kit.Sent(), Is.EqualTo(7));
    }

    [Test]
    public async Task Detailed_logs_every_span_with_hex_ids_and_attributes_without_changing_the_batch()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Detailed);
        var exporter = factory.CreateExporter<ResourceSpans>(kit.Context, config);
        var batch = ExporterTestKit.Spans(2);
        var before = batch.Resources.Clone();

        await exporter.ConsumeAsync(batch, CancellationToken.None);

        var text = string.Join('\n', kit.Logs.Rendered());
        Assert.That(text, Does.Contain("span-0").And.Contain("span-1"));
        Assert.That(text, Does.Contain("0102030405060708090a0b0c0d0e0f10"));
        Assert.That(text, Does.Contain("aabbccdd00000001"));
        Assert.That(text, Does.Contain("gen_ai.request.model=gpt-4o"));
        Assert.That(text, Does.Contain("service.name=chat-app"));
        Assert.That(batch.Resources, Is.EqualTo(before));
        Assert.That(exporter.MutatesData, Is.False);
    }

    [Test]
    public async Task Detailed_covers_metrics_and_logs()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Detailed);
        var metrics = factory.CreateExporter<ResourceMetrics>(kit.Context, config);
        var logs = factory.CreateExporter<ResourceLogs>(kit.Context, config);

        await metrics.ConsumeAsync(ExporterTestKit.MetricPoints(2), CancellationToken.None);
        await logs.ConsumeAsync(ExporterTestKit.LogRecords(1), CancellationToken.None);

        var text = string.Join('\n', kit.Logs.Rendered());
        Assert.That(text, Does.Contain("queue.depth").And.Contain("{} 0; {} 1"));
        Assert.That(text, Does.Contain("gen_ai.choice").And.Contain("log 0"));
        Assert.That(kit.Sent("metric_points"), Is.EqualTo(2));
        Assert.That(kit.Sent("log_records"), Is.EqualTo(1));
    }

    [Test]
    public async Task Normal_logs_one_line_per_span()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Normal);
        var exporter = factory.CreateExporter<ResourceSpans>(kit.Context, config);

        await exporter.ConsumeAsync(ExporterTestKit.Spans(3), CancellationToken.None);

        var lines = AsWritten(kit);
        Assert.That(lines, Has.Count.EqualTo(4), "one per span, then the batch line");
        // Normal now names the model and tokens of LLM spans (issue 15); ids stay: the trace id, to find it in a backend.
        Assert.That(lines[2], Does.Contain("span-2").And.Contain("0102030405060708090a0b0c0d0e0f10").And.Contain("model=gpt-4o"));
        Assert.That(lines[3], Does.Contain("3 spans"));
    }

    [Test]
    public async Task Basic_summarises_services_errors_llm_calls_and_tokens_in_one_line()
    {
        var lines = await ExportSpansWithOneErrorAsync(DebugVerbosity.Basic, count: 3, failing: 1);
        Assert.That(lines, Has.Count.EqualTo(1));
        // Input tokens 10 + 11 + 12, no output tokens in the test spans.
        Assert.That(lines[0], Is.EqualTo("3 spans (1 with status ERROR) in 1 resources from chat-app; 3 LLM calls, 33 tokens"));
    }

    [Test]
    public async Task Normal_shows_name_duration_status_service_model_and_tokens_without_null_or_a_doubled_name()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Normal);
        var line = (await ExportSpansWithOneErrorAsync(DebugVerbosity.Normal, count: 1, failing: 0))[0];
        Assert.That(line, Is.EqualTo("span span-0 1 s ERROR (rate limited) service=chat-app model=gpt-4o tokens=10 in / - out trace_id=0102030405060708090a0b0c0d0e0f10"));
        var exporter = factory.CreateExporter<ResourceSpans>(kit.Context, config);
        await exporter.ConsumeAsync(ExporterTestKit.Spans(1), CancellationToken.None);
        Assert.That(kit.Logs.Events.Select(e => e.Properties["component"].ToString()), Has.All.EqualTo("\"debug\""), "the component column names the exporter");
    }

    [Test]
    public async Task No_line_reads_null_when_scope_status_severity_and_event_are_absent()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Detailed);
        var spans = factory.CreateExporter<ResourceSpans>(kit.Context, config);
        var logs = factory.CreateExporter<ResourceLogs>(kit.Context, config);
        var bare = ExporterTestKit.Spans(1);
        bare.Resources[0].ScopeSpans[0].Scope = null;
        var records = ExporterTestKit.LogRecords(1);
        var record = records.Resources[0].ScopeLogs[0].LogRecords[0];
        record.SeverityText = string.Empty;
        record.SeverityNumber = SeverityNumber.Warn;

        await spans.ConsumeAsync(bare, CancellationToken.None);
        await logs.ConsumeAsync(records, CancellationToken.None);

        var text = string.Join('\n', AsWritten(kit));
        Assert.That(text, Does.Not.Contain("null"));
        Assert.That(text, Does.Contain("status=UNSET").And.Contain("severity=WARN"));
    }

    [Test]
    public async Task Histogram_points_show_each_bucket_with_its_bound()
    {
        var (kit, factory, config) = Create(DebugVerbosity.Normal);
        var exporter = factory.CreateExporter<ResourceMetrics>(kit.Context, config);
        var histogram = new Histogram();
        var point = new HistogramDataPoint { Count = 6, Sum = 42.5 };
        point.ExplicitBounds.Add([5, 10]);
        point.BucketCounts.Add([1, 2, 3]);
        histogram.DataPoints.Add(point);
        var batch = ExporterTestKit.MetricPoints(1);
        batch.Resources[0].ScopeMetrics[0].Metrics.Add(new Metric { Name = "latency", Histogram = histogram });

        await exporter.ConsumeAsync(batch, CancellationToken.None);

        Assert.That(string.Join('\n', AsWritten(kit)), Does.Contain("count=6 sum=42.5 buckets={<=5: 1, <=10: 2, >10: 3}"));
    }

    [Test]
    public void Config_rejects_an_unknown_verbosity()
    {
        var errors = new ConfigErrors();
        new DebugExporterConfig { Verbosity = (DebugVerbosity)42 }.Validate(errors);
        Assert.That(errors.All, Has.One.StartsWith("verbosity:"));
    }
}
