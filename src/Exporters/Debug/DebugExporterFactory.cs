using Collector.Exporters.Shared;
using Collector.Pipeline;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Debug;

/// <summary>Type "debug": logs batches; no queue, no retry (it cannot fail).</summary>
internal sealed class DebugExporterFactory() : EverySignalExporterFactory<DebugExporterConfig>(
    "debug", () => new(), Stability.Development, Create<ResourceSpans>, Create<ResourceMetrics>, Create<ResourceLogs>, ExporterMetrics.Sent)
{
    private static IExporter<T> Create<T>(ComponentContext context, DebugExporterConfig config)
        where T : class, IMessage<T> =>
        new DebugExporter<T>(context, config.Verbosity);
}
