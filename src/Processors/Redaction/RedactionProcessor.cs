using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using Rules = Collector.Processors.Redaction.RedactionTally.Rules;

namespace Collector.Processors.Redaction;

/// <summary>
/// Redacts every batch in place, synchronously, then hands it on. Changes data, so a fan-out
/// in front of it gives it its own copy. An unexpected error propagates: the batch is then
/// counted as failed by the pipeline and never leaves unredacted.
/// </summary>
internal sealed class RedactionProcessor<T>(Redactor redactor, RedactionMetrics metrics, IConsumer<T> next) : IProcessor<T>
    where T : class, IMessage<T>
{
    public bool MutatesData => true;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        Redact(batch.Resources);
        return next.ConsumeAsync(batch, cancellationToken);
    }

    /// <summary>The whole redaction of one batch, without handing it on (for benchmarks and tests).</summary>
    internal void Redact(RepeatedField<T> resources)
    {
        var tally = RedactionTally.Current;
        try
        {
            switch (resources)
            {
                case RepeatedField<ResourceSpans> spans:
                    redactor.Redact(spans, tally);
                    break;
                case RepeatedField<ResourceLogs> logs:
                    redactor.Redact(logs, tally);
                    break;
                case RepeatedField<ResourceMetrics> points:
                    redactor.Redact(points, tally);
                    break;
            }

            tally.FlushTo(metrics);
        }
        finally
        {
            tally.Reset();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The self-metrics of one redaction instance.</summary>
internal sealed class RedactionMetrics
{
    public RedactionMetrics(SelfMetrics metrics, string processor)
    {
        var label = ("processor", processor);
        MaskedValues = new Counter[Rules.Count];
        for (var rule = 0; rule < Rules.Count; rule++)
        {
            MaskedValues[rule] = metrics.Counter("collector_processor_redaction_masked_values_total", "Values or substrings masked (or hashed), by rule.", label, ("rule", Rules.Name(rule)));
        }

        RemovedKeys = metrics.Counter("collector_processor_redaction_removed_keys_total", "Attributes removed because allowed_keys did not list them.", label);
        OversizedValues = metrics.Counter("collector_processor_redaction_oversized_values_total", "Values masked whole, unscanned, for exceeding max_value_bytes or the nesting limit.", label);
        RegexTimeouts = metrics.Counter("collector_processor_redaction_regex_timeouts_total", "Regex matches that exceeded regex_timeout; the value was masked whole.", label);
    }

    /// <summary>Indexed by rule (see <see cref="Rules"/>).</summary>
    public Counter[] MaskedValues { get; }

    public Counter RemovedKeys { get; }

    public Counter OversizedValues { get; }

    public Counter RegexTimeouts { get; }
}
