using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.Dedup;

/// <summary>One table per pipeline instance: span and log identities never meet.</summary>
internal sealed class DedupFactory : ProcessorFactory<DedupConfig>
{
    public DedupFactory()
        : this(TimeProvider.System)
    {
    }

    private DedupFactory(TimeProvider time)
        : base("dedup", () => new DedupConfig())
    {
        WithTraces((context, config, next) => new SpanDedupProcessor(context, config, next, time), Stability.Alpha);
        WithLogs((context, config, next) => new LogDedupProcessor(context, config, next, time), Stability.Alpha);
        Registers(
            new MetricInfo("collector_processor_dedup_dropped_{item}_total", MetricType.Counter, "{items}", "Duplicate {item} dropped by dedup.", "processor"),
            new MetricInfo("collector_processor_dedup_evicted_total", MetricType.Counter, "{identities}", "Identities evicted before their window ended because max_entries was reached.", "processor"),
            new MetricInfo("collector_processor_dedup_unchecked_total", MetricType.Counter, "{items}", "Items passed on without a check because they have no usable identity (missing or invalid ids, no time).", "processor"),
            new MetricInfo("collector_processor_dedup_entries", MetricType.Gauge, "{identities}", "Identities currently remembered.", "processor", "signal"));
    }

    /// <summary>For tests that drive the window with a fake clock.</summary>
    internal static IProcessor<T> Create<T>(ComponentContext context, DedupConfig config, IConsumer<T> next, TimeProvider time)
        where T : class, IMessage<T> =>
        new DedupFactory(time).CreateProcessor(context, config, next);
}
