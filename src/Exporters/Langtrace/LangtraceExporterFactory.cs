using Collector.Exporters.Shared;
using Collector.Pipeline;

namespace Collector.Exporters.Langtrace;

/// <summary>Type "langtrace": traces to Langtrace's ingestion route, behind the exporter helper.</summary>
internal sealed class LangtraceExporterFactory : ExporterFactory<LangtraceExporterConfig>
{
    public LangtraceExporterFactory()
        : base("langtrace", () => new LangtraceExporterConfig())
    {
        WithTraces((context, config) => new LangtraceExporter(context, config, new LangtraceSender(config)), Stability.Alpha);
        Registers(ExporterMetrics.Helper);
    }
}
