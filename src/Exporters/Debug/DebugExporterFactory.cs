using Collector.Exporters.Shared;
using Collector.Pipeline;

namespace Collector.Exporters.Debug;

/// <summary>Type "debug": logs batches; no queue, no retry (it cannot fail).</summary>
internal sealed class DebugExporterFactory() : EverySignalExporterFactory<DebugExporterConfig>("debug", () => new(), Stability.Development, ExporterMetrics.Sent)
{
    protected override IExporter<T> Create<T>(ComponentContext context, DebugExporterConfig config) =>
        new DebugExporter<T>(context, config.Verbosity);
}
