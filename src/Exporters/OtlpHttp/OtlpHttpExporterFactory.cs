using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.OtlpHttp;

/// <summary>Type "otlphttp": OTLP/HTTP (protobuf or JSON) to any backend, all three signals, behind the exporter helper.</summary>
internal sealed class OtlpHttpExporterFactory() : EverySignalExporterFactory<OtlpHttpExporterConfig>(
    "otlphttp", () => new(), Stability.Beta, Create<ResourceSpans>, Create<ResourceMetrics>, Create<ResourceLogs>, ExporterMetrics.Helper)
{
    private static IExporter<T> Create<T>(ComponentContext context, OtlpHttpExporterConfig config)
        where T : class, IMessage<T> =>
        new ExporterHelper<T>(context, ExporterHelperSettings.From(config), new OtlpHttpSender<T>(config));
}
