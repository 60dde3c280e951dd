using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;

namespace Collector.Exporters.Otlp;

/// <summary>Type "otlp": OTLP/gRPC to any backend, all three signals, behind the exporter helper.</summary>
internal sealed class OtlpExporterFactory() : EverySignalExporterFactory<OtlpExporterConfig>("otlp", () => new(), Stability.Beta, ExporterMetrics.Helper)
{
    protected override IExporter<T> Create<T>(ComponentContext context, OtlpExporterConfig config) =>
        new ExporterHelper<T>(context, ExporterHelperSettings.From(config), new OtlpGrpcSender<T>(config));
}
