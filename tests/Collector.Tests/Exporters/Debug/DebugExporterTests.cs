using Collector.Exporters.Debug;
using Collector.Pipeline.Configuration;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

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

        var lines = kit.Logs.Rendered();
        Assert.That(lines, Has.Count.EqualTo(4), "the batch line and one per span");
        Assert.That(lines[3], Does.Contain("span-2").And.Contain("aabbccdd00000002").And.Not.Contain("gpt-4o"));
    }

    [Test]
    public void Config_rejects_an_unknown_verbosity()
    {
        var errors = new ConfigErrors();
        new DebugExporterConfig { Verbosity = (DebugVerbosity)42 }.Validate(errors);
        Assert.That(errors.All, Has.One.StartsWith("verbosity:"));
    }
}
