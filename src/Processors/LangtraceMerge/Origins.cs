using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Collector.Processors.LangtraceMerge;

/// <summary>
/// The resource an item arrived with and the processor instance (port) it came through. Buffered
/// items leave in as many batches as their traces flush; the first takes the original
/// <see cref="Resource"/>, later ones a copy, so that no two batches downstream share a mutable object.
/// </summary>
internal sealed class ResourceOrigin(int port, Resource? resource, string schemaUrl)
{
    private int _handedOut;

    public int Port { get; } = port;

    public string SchemaUrl { get; } = schemaUrl;

    /// <summary>Called when the original object went downstream with pass-through items.</summary>
    public void MarkHandedOut() => _handedOut = 1;

    public Resource? Take() => Interlocked.Exchange(ref _handedOut, 1) == 0 ? resource : resource?.Clone();
}

/// <summary>The instrumentation scope an item arrived with, under its <see cref="ResourceOrigin"/>.</summary>
internal sealed class ScopeOrigin(ResourceOrigin resource, InstrumentationScope? scope, string schemaUrl)
{
    private int _handedOut;

    public ResourceOrigin Resource { get; } = resource;

    public string SchemaUrl { get; } = schemaUrl;

    public void MarkHandedOut() => _handedOut = 1;

    public InstrumentationScope? Take() => Interlocked.Exchange(ref _handedOut, 1) == 0 ? scope : scope?.Clone();
}
