using Google.Protobuf;
using Google.Protobuf.Collections;
using Collector.Pipeline.Otlp;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline;

/// <summary>
/// The per-signal knowledge generic pipeline code needs: item counting, splitting and the
/// Export*ServiceRequest envelope, for code that knows only the resource type. The logic is the
/// OTLP shape layer's (<see cref="Otlp.OtlpShape{TShape, TResource, TScope, TItem}"/>).
/// </summary>
public abstract class SignalOps<T>
    where T : class, IMessage<T>
{
    public static SignalOps<T> Instance { get; } = Create();

    public abstract Signal Signal { get; }

    public abstract MessageParser RequestParser { get; }

    public abstract int CountItems(RepeatedField<T> resources);

    /// <summary>Wraps resources in the signal's Export*ServiceRequest (shares, not copies, the items).</summary>
    public abstract IMessage CreateRequest(IEnumerable<T> resources);

    /// <summary>The resources of a parsed Export*ServiceRequest (ownership moves to the caller).</summary>
    public abstract RepeatedField<T> ResourcesOf(IMessage request);

    public RepeatedField<T> ParseRequest(ReadOnlySpan<byte> bytes) => ResourcesOf(RequestParser.ParseFrom(bytes));

    public byte[] SerializeRequest(IEnumerable<T> resources) => CreateRequest(resources).ToByteArray();

    /// <summary>
    /// The encoded size of the Export*ServiceRequest holding <paramref name="resources"/> (each is field 1
    /// of the request in every signal, so a one-byte tag plus the length-prefixed message), without
    /// building the request: one walk over the messages.
    /// </summary>
    public static long CalculateRequestSize(RepeatedField<T> resources)
    {
        long size = 0;
        for (var i = 0; i < resources.Count; i++)
        {
            size += 1 + CodedOutputStream.ComputeMessageSize(resources[i]);
        }

        return size;
    }

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
            var t when t == typeof(ResourceSpans) => new ShapeOps<TracesShape, ResourceSpans, ScopeSpans, Span>(),
            var t when t == typeof(ResourceMetrics) => new ShapeOps<MetricsShape, ResourceMetrics, ScopeMetrics, Metric>(),
            var t when t == typeof(ResourceLogs) => new ShapeOps<LogsShape, ResourceLogs, ScopeLogs, LogRecord>(),
            _ => throw new NotSupportedException($"No OTLP signal for {typeof(T).Name}"),
        };
        return (SignalOps<T>)ops;
    }
}

/// <summary>A signal's <see cref="SignalOps{T}"/>, answered by its shape.</summary>
internal sealed class ShapeOps<TShape, TResource, TScope, TItem> : SignalOps<TResource>
    where TShape : struct, IOtlpShape<TResource, TScope, TItem>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
    where TItem : class, IMessage<TItem>
{
    public override Signal Signal => TShape.Signal;

    public override MessageParser RequestParser => TShape.RequestParser;

    public override int CountItems(RepeatedField<TResource> resources) => OtlpShape<TShape, TResource, TScope, TItem>.CountItems(resources);

    public override IMessage CreateRequest(IEnumerable<TResource> resources) => TShape.CreateRequest(resources);

    public override RepeatedField<TResource> ResourcesOf(IMessage request) => TShape.ResourcesOf(request);

    public override RepeatedField<TResource> SplitOff(RepeatedField<TResource> source, int maxItems, out int moved) =>
        OtlpShape<TShape, TResource, TScope, TItem>.SplitOff(source, maxItems, out moved);
}
