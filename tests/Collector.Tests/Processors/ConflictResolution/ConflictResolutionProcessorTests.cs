using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Collector.Processors.ConflictResolution;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.AiTestData;

namespace Collector.Tests.AiProcessing.ConflictResolution;

public sealed class ConflictResolutionProcessorTests
{
    private static CollectorConfig Load(string processorYaml, out IReadOnlyList<string> errors)
    {
        var registry = CollectorComponents.CreateRegistry(new CaptureExporterFactory(new CaptureStore()));
        var loaded = ConfigLoader.Load($$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
            processors: { conflict_resolution: {{processorYaml}} }
            exporters: { capture: }
            service: { pipelines: { traces: { receivers: [otlp], processors: [conflict_resolution], exporters: [capture] } } }
            """, registry, _ => null);
        errors = loaded.Errors;
        return loaded.Config!;
    }

    [Test]
    public void Yaml_keys_bind_with_snake_case_values()
    {
        var config = Load("{ target: langtrace, prefer: max, keep_source_keys: true }", out var errors);

        Assert.That(errors, Is.Empty);
        var bound = (ConflictResolutionConfig)config.Processors.Values.Single();
        Assert.That(bound.Target, Is.EqualTo(ConflictTarget.Langtrace));
        Assert.That(bound.Prefer, Is.EqualTo(ConflictPreference.Max));
        Assert.That(bound.KeepSourceKeys, Is.True);
    }

    [Test]
    public void Defaults_are_otel_genai_prefer_target_and_sources_removed()
    {
        var bound = (ConflictResolutionConfig)Load("{ target: otel_genai }", out var errors).Processors.Values.Single();

        Assert.That(errors, Is.Empty);
        Assert.That(bound.Target, Is.EqualTo(ConflictTarget.OtelGenAi));
        Assert.That(bound.Prefer, Is.EqualTo(ConflictPreference.Target));
        Assert.That(bound.KeepSourceKeys, Is.False);
    }

    [Test]
    public void Unknown_values_and_keys_are_all_reported()
    {
        Load("{ target: openinference, prefer: newest, keep_sources: true }", out var errors);

        Assert.That(errors, Has.Count.EqualTo(3), string.Join("\n", errors));
        Assert.That(errors, Has.Some.Contains("target"));
        Assert.That(errors, Has.Some.Contains("prefer"));
        Assert.That(errors, Has.Some.Contains("keep_sources"));
    }

    [Test]
    public void Validate_rejects_undefined_enum_values_set_in_code()
    {
        var errors = new ConfigErrors();
        new ConflictResolutionConfig { Target = (ConflictTarget)7, Prefer = (ConflictPreference)9 }.Validate(errors);

        Assert.That(errors.All, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task The_processor_normalises_every_span_of_a_batch_and_passes_it_on()
    {
        var metrics = new SelfMetrics();
        var next = new RecordingConsumer<ResourceSpans>();
        var factory = new ConflictResolutionFactory();
        var processor = factory.CreateProcessor(TestData.Context("conflict_resolution", metrics), new ConflictResolutionConfig(), next);
        var batch = TestData.SpanBatch(2, 2, 3);
        foreach (var span in batch.Resources.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
        {
            span.Attributes.Add(SpanWith(("gen_ai.usage.input_tokens", 1L), ("llm.token_count.prompt", 2L)).Attributes);
        }

        await processor.ConsumeAsync(batch, CancellationToken.None);

        Assert.That(processor.MutatesData, Is.True);
        Assert.That(factory.Metadata.Creates(Signal.Traces) && !factory.Metadata.Creates(Signal.Logs), Is.True);
        Assert.That(next.Batches.Single().ItemCount, Is.EqualTo(12));
        Assert.That(metrics.Read("collector_processor_conflict_resolution_conflicts_total", ("processor", "conflict_resolution"), ("concept", "input_tokens")), Is.EqualTo(12));
        Assert.That(next.Batches.Single().Resources.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).All(s => Get(s, "llm.token_count.prompt") is null), Is.True);
    }
}
