using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Collector.Processors.LangtraceMerge;

/// <summary>
/// The resource an item arrived with and the processor instance (port) it came through. Buffered
/// items leave in as many batches as their traces flush (in parallel flush parts too), and the
/// processors after this one change what they are handed (redaction hashes resource attributes):
/// each batch gets its own copy of the resource as received, never the object kept here.
/// </summary>
internal sealed class ResourceOrigin(int port, Resource? resource, string schemaUrl)
{
    private Resource? _resource = resource;

    public int Port { get; } = port;

    public string SchemaUrl { get; } = schemaUrl;

    /// <summary>The original object goes downstream with pass-through items: keep a copy from before that. Called under the buffer gate.</summary>
    public void MarkHandedOut() => _resource = _resource?.Clone();

    public Resource? Take() => _resource?.Clone();
}

/// <summary>The instrumentation scope an item arrived with, under its <see cref="ResourceOrigin"/>; copied the same way.</summary>
internal sealed class ScopeOrigin(ResourceOrigin resource, InstrumentationScope? scope, string schemaUrl)
{
    private InstrumentationScope? _scope = scope;

    public ResourceOrigin Resource { get; } = resource;

    public string SchemaUrl { get; } = schemaUrl;

    public void MarkHandedOut() => _scope = _scope?.Clone();

    public InstrumentationScope? Take() => _scope?.Clone();
}
