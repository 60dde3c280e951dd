using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// The request -> resource -> scope -> item nesting of one signal's messages (static members, so
/// that code generic over a shape struct is specialised per signal by the JIT, calls inlined).
/// </summary>
internal interface IOtlpShape<TResource, TScope, TItem>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
    where TItem : class, IMessage<TItem>
{
    static abstract Signal Signal { get; }

    static abstract MessageParser RequestParser { get; }

    /// <summary>Wraps resources in the signal's Export*ServiceRequest (shares, not copies, them).</summary>
    static abstract IMessage CreateRequest(IEnumerable<TResource> resources);

    static abstract RepeatedField<TResource> ResourcesOf(IMessage request);

    static abstract RepeatedField<TScope> ScopesOf(TResource resource);

    static abstract RepeatedField<TItem> ItemsOf(TScope scope);

    static abstract Resource? ResourceOf(TResource resource);

    static abstract string SchemaUrlOf(TResource resource);

    static abstract InstrumentationScope? ScopeOf(TScope scope);

    static abstract string SchemaUrlOf(TScope scope);

    static abstract TResource NewResource(Resource? resource, string schemaUrl);

    static abstract TScope NewScope(InstrumentationScope? scope, string schemaUrl);

    /// <summary>How many items <paramref name="item"/> counts as (1; a metric counts its data points).</summary>
    static abstract int Weight(TItem item);
}

/// <summary>
/// Walks a signal's data in order: each resource's header, then each of its scopes' header
/// followed by that scope's items. A struct passed by ref: no allocation, and its state survives.
/// </summary>
internal interface IOtlpVisitor<in TItem>
{
    void Resource(Resource? resource, string schemaUrl);

    void Scope(InstrumentationScope? scope, string schemaUrl);

    void Item(TItem item);
}

/// <summary>What <see cref="OtlpShape{TShape, TResource, TScope, TItem}.RemoveWhere{TFilter}(RepeatedField{TResource}, ref TFilter)"/> asks per item, in batch order.</summary>
internal interface IOtlpFilter<in TResource, in TScope, in TItem>
{
    /// <summary>True when <paramref name="item"/> (in <paramref name="scope"/>, in <paramref name="resource"/>) leaves the data.</summary>
    bool Remove(TResource resource, TScope scope, TItem item);
}

/// <summary>
/// The resource -> scope -> item operations written once for every signal: visiting, removing
/// by predicate, counting and splitting. Reached through <see cref="OtlpTraces"/>,
/// <see cref="OtlpMetrics"/> and <see cref="OtlpLogs"/>, or generically with a shape struct.
/// Index loops throughout: a protobuf list's foreach enumerator is boxed.
/// </summary>
internal abstract class OtlpShape<TShape, TResource, TScope, TItem>
    where TShape : struct, IOtlpShape<TResource, TScope, TItem>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
    where TItem : class, IMessage<TItem>
{
    private protected OtlpShape()
    {
    }

    public static void Visit<TVisitor>(RepeatedField<TResource> resources, ref TVisitor visitor)
        where TVisitor : struct, IOtlpVisitor<TItem>
    {
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            visitor.Resource(TShape.ResourceOf(resource), TShape.SchemaUrlOf(resource));
            var scopes = TShape.ScopesOf(resource);
            for (var s = 0; s < scopes.Count; s++)
            {
                var scope = scopes[s];
                visitor.Scope(TShape.ScopeOf(scope), TShape.SchemaUrlOf(scope));
                var items = TShape.ItemsOf(scope);
                for (var i = 0; i < items.Count; i++)
                {
                    visitor.Item(items[i]);
                }
            }
        }
    }

    /// <summary>
    /// Removes the items <paramref name="filter"/> picks, in place and in order (the rest keep their
    /// order and objects); a scope emptied by a removal goes, and so does a resource left without
    /// scopes by that. Scopes and resources that were empty before stay. Returns the number removed.
    /// </summary>
    public static int RemoveWhere<TFilter>(RepeatedField<TResource> resources, ref TFilter filter)
        where TFilter : struct, IOtlpFilter<TResource, TScope, TItem>
    {
        var removed = 0;
        var keptResources = 0;
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            var scopes = TShape.ScopesOf(resource);
            var removedHere = 0;
            var keptScopes = 0;
            for (var s = 0; s < scopes.Count; s++)
            {
                var scope = scopes[s];
                var items = TShape.ItemsOf(scope);
                var keptItems = 0;
                for (var i = 0; i < items.Count; i++)
                {
                    var item = items[i];
                    if (!filter.Remove(resource, scope, item))
                    {
                        Keep(items, ref keptItems, i, item);
                    }
                }

                var removedInScope = items.Count - keptItems;
                Truncate(items, keptItems);
                removedHere += removedInScope;
                if (removedInScope == 0 || keptItems > 0)
                {
                    Keep(scopes, ref keptScopes, s, scope);
                }
            }

            Truncate(scopes, keptScopes);
            removed += removedHere;
            if (removedHere == 0 || keptScopes > 0)
            {
                Keep(resources, ref keptResources, r, resource);
            }
        }

        Truncate(resources, keptResources);
        return removed;
    }

    /// <summary><see cref="RemoveWhere{TFilter}(RepeatedField{TResource}, ref TFilter)"/> with a stateless filter.</summary>
    public static int RemoveWhere<TFilter>(RepeatedField<TResource> resources)
        where TFilter : struct, IOtlpFilter<TResource, TScope, TItem>
    {
        var filter = default(TFilter);
        return RemoveWhere(resources, ref filter);
    }

    public static int CountItems(RepeatedField<TResource> resources)
    {
        var total = 0;
        for (var r = 0; r < resources.Count; r++)
        {
            total += CountItems(resources[r]);
        }

        return total;
    }

    public static int CountItems(TResource resource)
    {
        var scopes = TShape.ScopesOf(resource);
        var total = 0;
        for (var s = 0; s < scopes.Count; s++)
        {
            total += CountItems(scopes[s]);
        }

        return total;
    }

    public static int CountItems(TScope scope)
    {
        var items = TShape.ItemsOf(scope);
        var total = 0;
        for (var i = 0; i < items.Count; i++)
        {
            total += TShape.Weight(items[i]);
        }

        return total;
    }

    /// <summary>
    /// Moves up to <paramref name="maxItems"/> items from the front of <paramref name="source"/> into a
    /// new list; <paramref name="source"/> keeps the rest. Resource and scope headers are copied so
    /// that the two halves never share a mutable object. An item heavier than the whole budget
    /// still moves alone, so splitting always progresses.
    /// </summary>
    public static RepeatedField<TResource> SplitOff(RepeatedField<TResource> source, int maxItems, out int moved)
    {
        var result = new RepeatedField<TResource>();
        moved = 0;
        while (source.Count > 0 && moved < maxItems)
        {
            var resource = source[0];
            var size = CountItems(resource);
            if (moved + size <= maxItems)
            {
                source.RemoveAt(0);
                result.Add(resource);
                moved += size;
                continue;
            }

            // Partial resource: move whole scopes while they fit, then part of one scope.
            var part = TShape.NewResource(TShape.ResourceOf(resource)?.Clone(), TShape.SchemaUrlOf(resource));
            var partScopes = TShape.ScopesOf(part);
            var scopes = TShape.ScopesOf(resource);
            while (scopes.Count > 0 && moved < maxItems)
            {
                var scope = scopes[0];
                var scopeSize = CountItems(scope);
                if (moved + scopeSize <= maxItems)
                {
                    scopes.RemoveAt(0);
                    partScopes.Add(scope);
                    moved += scopeSize;
                    continue;
                }

                var items = TShape.ItemsOf(scope);
                var take = 0;
                while (take < items.Count)
                {
                    var w = TShape.Weight(items[take]);
                    if (moved + w > maxItems && (moved > 0 || take > 0))
                    {
                        break;
                    }

                    moved += w;
                    take++;
                }

                if (take > 0)
                {
                    var scopePart = TShape.NewScope(TShape.ScopeOf(scope)?.Clone(), TShape.SchemaUrlOf(scope));
                    var partItems = TShape.ItemsOf(scopePart);
                    for (var i = 0; i < take; i++)
                    {
                        partItems.Add(items[i]);
                    }

                    for (var i = take - 1; i >= 0; i--)
                    {
                        items.RemoveAt(i);
                    }

                    partScopes.Add(scopePart);
                }

                break;
            }

            if (partScopes.Count > 0)
            {
                result.Add(part);
            }

            // The budget is used up as far as this resource allows; the rest stays in source.
            break;
        }

        return result;
    }

    private static void Keep<TElement>(RepeatedField<TElement> list, ref int kept, int index, TElement element)
    {
        if (kept != index)
        {
            list[kept] = element;
        }

        kept++;
    }

    /// <summary>Cuts the tail from the end, where a protobuf list's removal costs nothing.</summary>
    private static void Truncate<TElement>(RepeatedField<TElement> list, int count)
    {
        for (var i = list.Count - 1; i >= count; i--)
        {
            list.RemoveAt(i);
        }
    }
}

internal readonly struct TracesShape : IOtlpShape<ResourceSpans, ScopeSpans, Span>
{
    public static Signal Signal => Signal.Traces;

    public static MessageParser RequestParser => ExportTraceServiceRequest.Parser;

    public static IMessage CreateRequest(IEnumerable<ResourceSpans> resources)
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resources);
        return request;
    }

    public static RepeatedField<ResourceSpans> ResourcesOf(IMessage request) => ((ExportTraceServiceRequest)request).ResourceSpans;

    public static RepeatedField<ScopeSpans> ScopesOf(ResourceSpans resource) => resource.ScopeSpans;

    public static RepeatedField<Span> ItemsOf(ScopeSpans scope) => scope.Spans;

    public static Resource? ResourceOf(ResourceSpans resource) => resource.Resource;

    public static string SchemaUrlOf(ResourceSpans resource) => resource.SchemaUrl;

    public static InstrumentationScope? ScopeOf(ScopeSpans scope) => scope.Scope;

    public static string SchemaUrlOf(ScopeSpans scope) => scope.SchemaUrl;

    public static ResourceSpans NewResource(Resource? resource, string schemaUrl) => new() { Resource = resource, SchemaUrl = schemaUrl };

    public static ScopeSpans NewScope(InstrumentationScope? scope, string schemaUrl) => new() { Scope = scope, SchemaUrl = schemaUrl };

    public static int Weight(Span item) => 1;
}

/// <summary>Metrics count data points; a metric is split only whole (its points stay together).</summary>
internal readonly struct MetricsShape : IOtlpShape<ResourceMetrics, ScopeMetrics, Metric>
{
    public static Signal Signal => Signal.Metrics;

    public static MessageParser RequestParser => ExportMetricsServiceRequest.Parser;

    public static IMessage CreateRequest(IEnumerable<ResourceMetrics> resources)
    {
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(resources);
        return request;
    }

    public static RepeatedField<ResourceMetrics> ResourcesOf(IMessage request) => ((ExportMetricsServiceRequest)request).ResourceMetrics;

    public static RepeatedField<ScopeMetrics> ScopesOf(ResourceMetrics resource) => resource.ScopeMetrics;

    public static RepeatedField<Metric> ItemsOf(ScopeMetrics scope) => scope.Metrics;

    public static Resource? ResourceOf(ResourceMetrics resource) => resource.Resource;

    public static string SchemaUrlOf(ResourceMetrics resource) => resource.SchemaUrl;

    public static InstrumentationScope? ScopeOf(ScopeMetrics scope) => scope.Scope;

    public static string SchemaUrlOf(ScopeMetrics scope) => scope.SchemaUrl;

    public static ResourceMetrics NewResource(Resource? resource, string schemaUrl) => new() { Resource = resource, SchemaUrl = schemaUrl };

    public static ScopeMetrics NewScope(InstrumentationScope? scope, string schemaUrl) => new() { Scope = scope, SchemaUrl = schemaUrl };

    public static int Weight(Metric item) => MetricPoints.Count(item);
}

internal readonly struct LogsShape : IOtlpShape<ResourceLogs, ScopeLogs, LogRecord>
{
    public static Signal Signal => Signal.Logs;

    public static MessageParser RequestParser => ExportLogsServiceRequest.Parser;

    public static IMessage CreateRequest(IEnumerable<ResourceLogs> resources)
    {
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(resources);
        return request;
    }

    public static RepeatedField<ResourceLogs> ResourcesOf(IMessage request) => ((ExportLogsServiceRequest)request).ResourceLogs;

    public static RepeatedField<ScopeLogs> ScopesOf(ResourceLogs resource) => resource.ScopeLogs;

    public static RepeatedField<LogRecord> ItemsOf(ScopeLogs scope) => scope.LogRecords;

    public static Resource? ResourceOf(ResourceLogs resource) => resource.Resource;

    public static string SchemaUrlOf(ResourceLogs resource) => resource.SchemaUrl;

    public static InstrumentationScope? ScopeOf(ScopeLogs scope) => scope.Scope;

    public static string SchemaUrlOf(ScopeLogs scope) => scope.SchemaUrl;

    public static ResourceLogs NewResource(Resource? resource, string schemaUrl) => new() { Resource = resource, SchemaUrl = schemaUrl };

    public static ScopeLogs NewScope(InstrumentationScope? scope, string schemaUrl) => new() { Scope = scope, SchemaUrl = schemaUrl };

    public static int Weight(LogRecord item) => 1;
}

/// <summary>Spans: <c>OtlpTraces.Visit(resources, ref visitor)</c>, <c>OtlpTraces.RemoveWhere(...)</c>.</summary>
internal sealed class OtlpTraces : OtlpShape<TracesShape, ResourceSpans, ScopeSpans, Span>
{
    private OtlpTraces()
    {
    }
}

/// <summary>Metrics (items are metrics, counted by data points; see <see cref="MetricPoints"/>).</summary>
internal sealed class OtlpMetrics : OtlpShape<MetricsShape, ResourceMetrics, ScopeMetrics, Metric>
{
    private OtlpMetrics()
    {
    }
}

/// <summary>Log records.</summary>
internal sealed class OtlpLogs : OtlpShape<LogsShape, ResourceLogs, ScopeLogs, LogRecord>
{
    private OtlpLogs()
    {
    }
}
