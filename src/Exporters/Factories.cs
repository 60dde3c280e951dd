using Collector.Pipeline;

namespace Collector.Exporters;

/// <summary>Every exporter factory of this assembly, for the collector's registry.</summary>
public static class ExporterFactories
{
    public static IEnumerable<IComponentFactory> All() =>
    [
        new Otlp.OtlpExporterFactory(),
        new OtlpHttp.OtlpHttpExporterFactory(),
        new Debug.DebugExporterFactory(),
        new Langtrace.LangtraceExporterFactory(),
    ];
}
