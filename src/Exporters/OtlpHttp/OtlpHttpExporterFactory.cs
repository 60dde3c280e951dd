using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;

namespace Collector.Exporters.OtlpHttp;

/// <summary>Type "otlphttp": OTLP/HTTP (protobuf or JSON) to any backend, all three signals, behind the exporter helper.</summary>
internal sealed class OtlpHttpExporterFactory() : EverySignalExporterFactory<OtlpHttpExporterConfig>("otlphttp", () => new(), Stability.Beta, ExporterMetrics.Helper)
{
    protected override IExporter<T> Create<T>(ComponentContext context, OtlpHttpExporterConfig config) =>
        new ExporterHelper<T>(context, ExporterHelperSettings.From(config), new OtlpHttpSender<T>(config));
}
