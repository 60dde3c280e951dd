using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.Redaction;

/// <summary>Rules are compiled once per component id and shared by every pipeline listing it.</summary>
internal sealed class RedactionFactory() : EverySignalProcessorFactory<RedactionConfig>(
    "redaction",
    () => new(),
    Stability.Alpha,
    Create,
    Create,
    Create,
    new MetricInfo("collector_processor_redaction_masked_values_total", MetricType.Counter, "{values}", "Values or substrings masked (or hashed), by rule.", "processor", "rule"),
    new MetricInfo("collector_processor_redaction_removed_keys_total", MetricType.Counter, "{attributes}", "Attributes removed because allowed_keys did not list them.", "processor"),
    new MetricInfo("collector_processor_redaction_oversized_values_total", MetricType.Counter, "{values}", "Values masked whole, unscanned, for exceeding max_value_bytes or the nesting limit.", "processor"),
    new MetricInfo("collector_processor_redaction_regex_timeouts_total", MetricType.Counter, "{matches}", "Regex matches that exceeded regex_timeout; the value was masked whole.", "processor"))
{
    private static IProcessor<T> Create<T>(ComponentContext context, RedactionConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var redactor = context.Shared.GetOrAdd(context.Id, () => new Redactor(config));
        return new RedactionProcessor<T>(redactor, new RedactionMetrics(context.Metrics, context.Id.ToString()), next);
    }
}
