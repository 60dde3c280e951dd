using Collector.Pipeline.Configuration;
using Collector.Processors.LangtraceMerge;
using Collector.Tests.TestSupport;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

public sealed class LangtraceMergeConfigTests
{
    private static ConfigLoadResult Load(string processor, string pipelines = "") => ConfigLoader.Load(
        $$"""
        receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
        processors:
          langtrace_merge:
        {{processor}}
        exporters: { capture: }
        service:
          pipelines:
            traces: { receivers: [otlp], processors: [langtrace_merge], exporters: [capture] }
            logs: { receivers: [otlp], processors: [langtrace_merge], exporters: [capture] }
        {{pipelines}}
        """,
        CollectorComponents.CreateRegistry(new CaptureExporterFactory(new CaptureStore())),
        _ => null);

    [Test]
    public void Defaults_follow_the_design()
    {
        var config = (LangtraceMergeConfig)new LangtraceMergeFactory().CreateDefaultConfig();
        Assert.That(config.Wait, Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(config.MaxTraces, Is.EqualTo(10_000));
        Assert.That(config.MaxSpansPerTrace, Is.EqualTo(1000));
        Assert.That(config.MaxEventsPerTrace, Is.EqualTo(1000));
        Assert.That(config.DuplicateWindow, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        Assert.That(config.DuplicateMatch, Is.EqualTo(DuplicateMatch.Content));
        Assert.That(config.OverlapRatio, Is.EqualTo(0.8));
        Assert.That(config.ConflictResolution, Is.EqualTo(ConflictPreference.PreferSpan));
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty);
    }

    [Test]
    public void Every_key_binds_from_yaml()
    {
        var result = Load("""
                wait: 3s
                max_traces: 500
                max_spans_per_trace: 200
                max_events_per_trace: 300
                duplicate_window: 250ms
                duplicate_match: name
                overlap_ratio: 0.9
                conflict_resolution: prefer_event
            """);
        Assert.That(result.Errors, Is.Empty);
        var config = (LangtraceMergeConfig)result.Config!.Processors.Single().Value;
        Assert.That(config.Wait, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(config.MaxTraces, Is.EqualTo(500));
        Assert.That(config.MaxSpansPerTrace, Is.EqualTo(200));
        Assert.That(config.MaxEventsPerTrace, Is.EqualTo(300));
        Assert.That(config.DuplicateWindow, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
        Assert.That(config.DuplicateMatch, Is.EqualTo(DuplicateMatch.Name));
        Assert.That(config.OverlapRatio, Is.EqualTo(0.9));
        Assert.That(config.ConflictResolution, Is.EqualTo(ConflictPreference.PreferEvent));
    }

    [Test]
    public void Every_bad_value_is_reported_at_once_with_its_key()
    {
        var result = Load("""
                wait: 0s
                max_traces: 0
                max_spans_per_trace: -1
                max_events_per_trace: 0
                duplicate_window: 11m
                overlap_ratio: 1.5
                conflict_resolution: prefer_both
            """);
        var text = string.Join("\n", result.Errors);
        foreach (var key in new[] { "wait", "max_traces", "max_spans_per_trace", "max_events_per_trace", "duplicate_window", "overlap_ratio", "conflict_resolution" })
        {
            Assert.That(text, Does.Contain($"langtrace_merge.{key}"), text);
        }
    }

    [Test]
    public void A_zero_overlap_ratio_and_a_wait_beyond_ten_minutes_are_rejected()
    {
        var errors = new ConfigErrors();
        new LangtraceMergeConfig { OverlapRatio = 0, Wait = TimeSpan.FromMinutes(11) }.Validate(errors);
        Assert.That(errors.All, Has.Count.EqualTo(2));
    }

    [Test]
    public void It_cannot_be_listed_in_a_metrics_pipeline()
    {
        var result = Load(string.Empty, "    metrics: { receivers: [otlp], processors: [langtrace_merge], exporters: [capture] }");
        Assert.That(string.Join("\n", result.Errors), Does.Contain("langtrace_merge"));
    }
}
