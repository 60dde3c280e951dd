using BenchmarkDotNet.Attributes;
using Collector.Pipeline;
using Collector.Pipeline.Secrets;
using Collector.Pipeline.Telemetry;
using Collector.Processors.Redaction;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Bench;

/// <summary>
/// Spans through the redaction processor with every detector on, plus the redaction example's
/// key and value patterns. Results are per span (OperationsPerInvoke): spans/s = 1e9 / Mean(ns).
/// Protobuf encode+decode of the same spans is the yardstick the collector's figures are given against.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class RedactionBenchmarks
{
    private const int Spans = 1000;

    private RedactionProcessor<ResourceSpans> _processor = null!;
    private LlmWorkload _clean = null!;
    private LlmWorkload _tenPercent = null!;
    private byte[] _encoded = [];

    [GlobalSetup]
    public void Setup()
    {
        var config = new RedactionConfig
        {
            Detectors = [.. Enum.GetValues<RedactionDetector>()],
            BlockedKeyPatterns = ["(?i)authorization", "(?i)api[_.-]?key", "(?i)password|secret"],
            BlockedValues = [@"\bACME-[0-9]{6}\b"],
            AllowedValues = [@"@example-corp\.com$"],
        };
        var metrics = new SelfMetrics();
        _processor = new RedactionProcessor<ResourceSpans>(new Redactor(config), new RedactionMetrics(metrics, "redaction"), new Discard());
        _clean = new LlmWorkload(Spans, secretEvery: 0);
        _tenPercent = new LlmWorkload(Spans, secretEvery: 10);
        _encoded = new ExportTraceServiceRequest { ResourceSpans = { _clean.Resources } }.ToByteArray();

        // The workloads must be what their names say (each dirty span: 4 secrets in the transcript,
        // 4 in the prompt event, 1 authorization header), or the numbers mean nothing.
        _processor.Redact(_clean.Resources);
        var cleanMasked = metrics.Sum("collector_processor_redaction_masked_values_total");
        _processor.Redact(_tenPercent.Resources);
        var dirtyMasked = metrics.Sum("collector_processor_redaction_masked_values_total") - cleanMasked;
        if (cleanMasked != 0 || dirtyMasked != Spans / 10 * 9)
        {
            throw new InvalidOperationException($"workload check failed: clean masked {cleanMasked}, 10% masked {dirtyMasked}");
        }
    }

    [Benchmark(OperationsPerInvoke = Spans)]
    public void Clean_spans() => _processor.Redact(_clean.Resources);

    /// <summary>Includes putting the secrets back before each pass (reference assignments only).</summary>
    [Benchmark(OperationsPerInvoke = Spans)]
    public void Ten_percent_of_spans_with_secrets()
    {
        _tenPercent.Restore();
        _processor.Redact(_tenPercent.Resources);
    }

    [Benchmark(OperationsPerInvoke = Spans, Baseline = true)]
    public byte[] Protobuf_decode_and_encode() => ExportTraceServiceRequest.Parser.ParseFrom(_encoded).ToByteArray();

    private sealed class Discard : IConsumer<ResourceSpans>
    {
        public bool MutatesData => false;

        public ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
