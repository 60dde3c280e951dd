using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Exporters.Debug;

/// <summary>Type "debug": logs batches; no queue, no retry (it cannot fail).</summary>
internal sealed class DebugExporterFactory : IExporterFactory
{
    public string Type => "debug";

    public ComponentKind Kind => ComponentKind.Exporter;

    public ComponentConfig CreateDefaultConfig() => new DebugExporterConfig();

    public bool Supports(Signal signal) => true;

    public IExporter<T> CreateExporter<T>(ComponentContext context, ComponentConfig config)
        where T : class, IMessage<T> =>
        new DebugExporter<T>(context, ((DebugExporterConfig)config).Verbosity);
}
