using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Export;
using Google.Protobuf;

namespace Collector.Exporters.Otlp;

/// <summary>Type "otlp": OTLP/gRPC to any backend, all three signals, behind the exporter helper.</summary>
internal sealed class OtlpExporterFactory : IExporterFactory
{
    public string Type => "otlp";

    public ComponentKind Kind => ComponentKind.Exporter;

    public ComponentConfig CreateDefaultConfig() => new OtlpExporterConfig();

    public bool Supports(Signal signal) => true;

    public IExporter<T> CreateExporter<T>(ComponentContext context, ComponentConfig config)
        where T : class, IMessage<T>
    {
        var c = (OtlpExporterConfig)config;
        return new ExporterHelper<T>(context, ExporterHelperSettings.From(c), new OtlpGrpcSender<T>(c));
    }
}
