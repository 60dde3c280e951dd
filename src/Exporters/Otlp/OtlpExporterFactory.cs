using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Otlp;

/// <summary>Type "otlp": OTLP/gRPC to any backend, all three signals, behind the exporter helper.</summary>
internal sealed class OtlpExporterFactory() : EverySignalExporterFactory<OtlpExporterConfig>(
    "otlp", () => new(), Stability.Beta, Create<ResourceSpans>, Create<ResourceMetrics>, Create<ResourceLogs>, ExporterMetrics.Helper)
{
    private static IExporter<T> Create<T>(ComponentContext context, OtlpExporterConfig config)
        where T : class, IMessage<T> =>
        new ExporterHelper<T>(context, ExporterHelperSettings.From(config), new OtlpGrpcSender<T>(config));
}
