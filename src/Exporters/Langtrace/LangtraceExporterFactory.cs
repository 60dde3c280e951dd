using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Langtrace;

/// <summary>Type "langtrace": traces to Langtrace's ingestion route, behind the exporter helper.</summary>
internal sealed class LangtraceExporterFactory : IExporterFactory
{
    public string Type => "langtrace";

    public ComponentKind Kind => ComponentKind.Exporter;

    public ComponentConfig CreateDefaultConfig() => new LangtraceExporterConfig();

    public bool Supports(Signal signal) => signal == Signal.Traces;

    public IExporter<T> CreateExporter<T>(ComponentContext context, ComponentConfig config)
        where T : class, IMessage<T>
    {
        if (typeof(T) != typeof(ResourceSpans))
        {
            throw new NotSupportedException("the langtrace exporter takes traces only");
        }

        var c = (LangtraceExporterConfig)config;
        return (IExporter<T>)(object)new LangtraceExporter(context, c, new LangtraceSender(c));
    }
}
