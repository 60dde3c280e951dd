using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Export;
using Google.Protobuf;

namespace Collector.Exporters.OtlpHttp;

/// <summary>Type "otlphttp": OTLP/HTTP (protobuf or JSON) to any backend, all three signals, behind the exporter helper.</summary>
internal sealed class OtlpHttpExporterFactory : IExporterFactory
{
    public string Type => "otlphttp";

    public ComponentKind Kind => ComponentKind.Exporter;

    public ComponentConfig CreateDefaultConfig() => new OtlpHttpExporterConfig();

    public bool Supports(Signal signal) => true;

    public IExporter<T> CreateExporter<T>(ComponentContext context, ComponentConfig config)
        where T : class, IMessage<T>
    {
        var c = (OtlpHttpExporterConfig)config;
        return new ExporterHelper<T>(context, ExporterHelperSettings.From(c), new OtlpHttpSender<T>(c));
    }
}
