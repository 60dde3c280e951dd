using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline;

/// <summary>
/// The per-signal knowledge generic pipeline code needs: item counting, splitting and the
/// Export*ServiceRequest envelope. All three signals share one resource -> scope -> item shape,
/// so the logic lives once here, parameterised by accessors.
/// </summary>
public abstract class SignalOps<T>
    where T : class, IMessage<T>
{
    public static SignalOps<T> Instance { get; } = Create();

    public abstract Signal Signal { get; }

    public abstract MessageParser RequestParser { get; }

    public abstract int CountItems(T resource);

    public int CountItems(RepeatedField<T> resources)
    {
        var total = 0;
        foreach (var r in resources)
        {
            total += CountItems(r);
        }

        return total;
    }

    /// <summary>Wraps resources in the signal's Export*ServiceRequest (shares, not copies, the items).</summary>
    public abstract IMessage CreateRequest(IEnumerable<T> resources);

    /// <summary>The resources of a parsed Export*ServiceRequest (ownership moves to the caller).</summary>
    public abstract RepeatedField<T> ResourcesOf(IMessage request);

    public RepeatedField<T> ParseRequest(ReadOnlySpan<byte> bytes) => ResourcesOf(RequestParser.ParseFrom(bytes));

    public byte[] SerializeRequest(IEnumerable<T> resources) => CreateRequest(resources).ToByteArray();

    /// <summary>
    /// Moves up to <paramref name="maxItems"/> items from the front of <paramref name="source"/> into a
    /// new list; <paramref name="source"/> keeps the rest. Resource and scope headers are copied so
    /// that the two halves never share a mutable object.
    /// </summary>
    public abstract RepeatedField<T> SplitOff(RepeatedField<T> source, int maxItems, out int moved);

    /// <summary>Picks the per-signal implementation for <typeparamref name="T"/>: the one place other code switches on the signal type.</summary>
    public static TResult Select<TResult>(Func<TResult> traces, Func<TResult> metrics, Func<TResult> logs) => Instance.Signal switch
    {
        Signal.Traces => traces(),
        Signal.Metrics => metrics(),
        _ => logs(),
    };

    private static SignalOps<T> Create()
    {
        object ops = typeof(T) switch
        {
            var t when t == typeof(ResourceSpans) => new TracesOps(),
            var t when t == typeof(ResourceMetrics) => new MetricsOps(),
            var t when t == typeof(ResourceLogs) => new LogsOps(),
            _ => throw new NotSupportedException($"No OTLP signal for {typeof(T).Name}"),
        };
        return (SignalOps<T>)ops;
    }
}

/// <summary>Shared splitting for the resource -> scope -> item shape.</summary>
internal abstract class HierarchyOps<TResource, TScope, TItem> : SignalOps<TResource>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
{
    protected abstract RepeatedField<TScope> ScopesOf(TResource resource);

    protected abstract RepeatedField<TItem> ItemsOf(TScope scope);

    protected abstract TResource EmptyCopy(TResource resource);

    protected abstract TScope EmptyCopy(TScope scope);

    protected virtual int Weight(TItem item) => 1;

    public override int CountItems(TResource resource)
    {
        var total = 0;
        foreach (var scope in ScopesOf(resource))
        {
            total += CountScope(scope);
        }

        return total;
    }

    private int CountScope(TScope scope)
    {
        var items = ItemsOf(scope);
        var total = 0;
        for (var i = 0; i < items.Count; i++)
        {
            total += Weight(items[i]);
        }

        return total;
    }

    public override RepeatedField<TResource> SplitOff(RepeatedField<TResource> source, int maxItems, out int moved)
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
            var part = EmptyCopy(resource);
            var scopes = ScopesOf(resource);
            while (scopes.Count > 0 && moved < maxItems)
            {
                var scope = scopes[0];
                var scopeSize = CountScope(scope);
                if (moved + scopeSize <= maxItems)
                {
                    scopes.RemoveAt(0);
                    ScopesOf(part).Add(scope);
                    moved += scopeSize;
                    continue;
                }

                var scopePart = EmptyCopy(scope);
                var items = ItemsOf(scope);
                var take = 0;
                while (take < items.Count)
                {
                    var w = Weight(items[take]);
                    // An item heavier than the whole budget still moves alone, so splitting always progresses.
                    if (moved + w > maxItems && (moved > 0 || take > 0))
                    {
                        break;
                    }

                    moved += w;
                    take++;
                }

                for (var i = 0; i < take; i++)
                {
                    ItemsOf(scopePart).Add(items[i]);
                }

                for (var i = take - 1; i >= 0; i--)
                {
                    items.RemoveAt(i);
                }

                if (take > 0)
                {
                    ScopesOf(part).Add(scopePart);
                }

                break;
            }

            if (ScopesOf(part).Count > 0)
            {
                result.Add(part);
            }

            // The budget is used up as far as this resource allows; the rest stays in source.
            break;
        }

        return result;
    }
}

internal sealed class TracesOps : HierarchyOps<ResourceSpans, ScopeSpans, Span>
{
    public override Signal Signal => Signal.Traces;

    public override MessageParser RequestParser => ExportTraceServiceRequest.Parser;

    public override IMessage CreateRequest(IEnumerable<ResourceSpans> resources)
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resources);
        return request;
    }

    public override RepeatedField<ResourceSpans> ResourcesOf(IMessage request) => ((ExportTraceServiceRequest)request).ResourceSpans;

    protected override RepeatedField<ScopeSpans> ScopesOf(ResourceSpans resource) => resource.ScopeSpans;

    protected override RepeatedField<Span> ItemsOf(ScopeSpans scope) => scope.Spans;

    protected override ResourceSpans EmptyCopy(ResourceSpans r) => new() { Resource = r.Resource?.Clone(), SchemaUrl = r.SchemaUrl };

    protected override ScopeSpans EmptyCopy(ScopeSpans s) => new() { Scope = s.Scope?.Clone(), SchemaUrl = s.SchemaUrl };
}

internal sealed class LogsOps : HierarchyOps<ResourceLogs, ScopeLogs, LogRecord>
{
    public override Signal Signal => Signal.Logs;

    public override MessageParser RequestParser => ExportLogsServiceRequest.Parser;

    public override IMessage CreateRequest(IEnumerable<ResourceLogs> resources)
    {
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(resources);
        return request;
    }

    public override RepeatedField<ResourceLogs> ResourcesOf(IMessage request) => ((ExportLogsServiceRequest)request).ResourceLogs;

    protected override RepeatedField<ScopeLogs> ScopesOf(ResourceLogs resource) => resource.ScopeLogs;

    protected override RepeatedField<LogRecord> ItemsOf(ScopeLogs scope) => scope.LogRecords;

    protected override ResourceLogs EmptyCopy(ResourceLogs r) => new() { Resource = r.Resource?.Clone(), SchemaUrl = r.SchemaUrl };

    protected override ScopeLogs EmptyCopy(ScopeLogs s) => new() { Scope = s.Scope?.Clone(), SchemaUrl = s.SchemaUrl };
}

/// <summary>Metrics count data points; a metric is split only whole (its points stay together).</summary>
internal sealed class MetricsOps : HierarchyOps<ResourceMetrics, ScopeMetrics, Metric>
{
    public override Signal Signal => Signal.Metrics;

    public override MessageParser RequestParser => ExportMetricsServiceRequest.Parser;

    public override IMessage CreateRequest(IEnumerable<ResourceMetrics> resources)
    {
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(resources);
        return request;
    }

    public override RepeatedField<ResourceMetrics> ResourcesOf(IMessage request) => ((ExportMetricsServiceRequest)request).ResourceMetrics;

    protected override RepeatedField<ScopeMetrics> ScopesOf(ResourceMetrics resource) => resource.ScopeMetrics;

    protected override RepeatedField<Metric> ItemsOf(ScopeMetrics scope) => scope.Metrics;

    protected override ResourceMetrics EmptyCopy(ResourceMetrics r) => new() { Resource = r.Resource?.Clone(), SchemaUrl = r.SchemaUrl };

    protected override ScopeMetrics EmptyCopy(ScopeMetrics s) => new() { Scope = s.Scope?.Clone(), SchemaUrl = s.SchemaUrl };

    protected override int Weight(Metric item) => DataPointCount(item);

    public static int DataPointCount(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        Metric.DataOneofCase.ExponentialHistogram => metric.ExponentialHistogram.DataPoints.Count,
        Metric.DataOneofCase.Summary => metric.Summary.DataPoints.Count,
        _ => 0,
    };
}
