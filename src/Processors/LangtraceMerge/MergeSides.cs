using System.Text;
using Collector.GenAi;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.LangtraceMerge;

/// <summary>One processor instance of a signal: where its items go next. Closed once that instance shut down.</summary>
internal sealed class Port<T>(IConsumer<T> next)
    where T : class, IMessage<T>
{
    public IConsumer<T> Next { get; } = next;

    public bool Closed { get; set; }
}

/// <summary>What classification found out about an item that belongs in the buffer.</summary>
internal readonly record struct ItemInfo(TraceKey Trace, ulong SpanKey, string? EventName, bool NameFromAttribute);

/// <summary>The buffer operations intake needs (implemented by <see cref="MergeState"/>, called under its gate).</summary>
internal interface IIntakeSink
{
    /// <summary>The entry for this trace, created when absent (which may flush the oldest trace early).</summary>
    TraceEntry EntryFor(TraceKey trace);

    /// <summary>An item was added to <paramref name="entry"/>: touch it, hold the request's acks, apply per-trace limits.</summary>
    void Added(TraceEntry entry, bool isEvent);
}

/// <summary>The per-signal half of the shared state: its ports, how items enter the buffer and how they leave it.</summary>
internal abstract class MergeSide<T>
    where T : class, IMessage<T>
{
    public List<Port<T>> Ports { get; } = [];

    public abstract bool IsLogs { get; }

    /// <summary>Moves every item that belongs in the buffer out of <paramref name="batch"/>; the rest stays, with ItemCount updated.</summary>
    public abstract void Intake(Batch<T> batch, int port, IIntakeSink sink);

    /// <summary>Adds the kept items of <paramref name="entries"/> to one output batch per port (created on demand).</summary>
    public abstract void CollectOutput(List<TraceEntry> entries, Batch<T>?[] outputs);
}

/// <summary>Intake and output for the shared resource -> scope -> item shape, written once for both signals.</summary>
internal abstract class HierarchySide<TShape, TResource, TScope, TItem> : MergeSide<TResource>
    where TShape : struct, IOtlpShape<TResource, TScope, TItem>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
    where TItem : class, IMessage<TItem>
{
    // Output grouping scratch; used only under the state's gate.
    private readonly Dictionary<ScopeOrigin, TScope> _scopes = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<ResourceOrigin, TResource> _resources = new(ReferenceEqualityComparer.Instance);

    /// <summary>True when the item belongs in the buffer.</summary>
    protected abstract bool Classify(TItem item, out ItemInfo info);

    protected abstract void AddTo(TraceEntry entry, TItem item, ScopeOrigin origin, in ItemInfo info);

    protected abstract int CountIn(TraceEntry entry);

    /// <summary>The item at <paramref name="index"/> when it leaves in this signal's stream.</summary>
    protected abstract bool TryKept(TraceEntry entry, int index, out TItem item, out ScopeOrigin origin);

    public override void Intake(Batch<TResource> batch, int port, IIntakeSink sink)
    {
        var intake = new Buffering(this, port, sink);
        OtlpShape<TShape, TResource, TScope, TItem>.RemoveWhere(batch.Resources, ref intake);
        batch.ItemCount = intake.Passed;
    }

    public override void CollectOutput(List<TraceEntry> entries, Batch<TResource>?[] outputs)
    {
        _scopes.Clear();
        _resources.Clear();
        foreach (var entry in entries)
        {
            var count = CountIn(entry);
            for (var i = 0; i < count; i++)
            {
                if (!TryKept(entry, i, out var item, out var origin))
                {
                    continue;
                }

                if (!_scopes.TryGetValue(origin, out var scope))
                {
                    var resourceOrigin = origin.Resource;
                    if (!_resources.TryGetValue(resourceOrigin, out var resource))
                    {
                        resource = TShape.NewResource(resourceOrigin.Take(), resourceOrigin.SchemaUrl);
                        _resources.Add(resourceOrigin, resource);
                        var output = outputs[resourceOrigin.Port] ??= new Batch<TResource>([], 0);
                        output.Resources.Add(resource);
                    }

                    scope = TShape.NewScope(origin.Take(), origin.SchemaUrl);
                    _scopes.Add(origin, scope);
                    TShape.ScopesOf(resource).Add(scope);
                }

                TShape.ItemsOf(scope).Add(item);
                outputs[origin.Resource.Port]!.ItemCount++;
            }
        }

        // Do not keep the flushed data reachable from the scratch maps.
        _scopes.Clear();
        _resources.Clear();
    }

    /// <summary>
    /// Takes the items that belong in the buffer out of a batch. Origins are made on a scope's first
    /// buffered item; when the scope (resource) also goes on with pass-through items, its original
    /// header object goes downstream, so the origin keeps a copy from before that (once).
    /// </summary>
    private struct Buffering(HierarchySide<TShape, TResource, TScope, TItem> side, int port, IIntakeSink sink) : IOtlpFilter<TResource, TScope, TItem>
    {
        private TResource? _resource;
        private TScope? _scope;
        private ResourceOrigin? _resourceOrigin;
        private ScopeOrigin? _scopeOrigin;
        private bool _resourcePasses;
        private bool _scopePasses;

        public int Passed { get; private set; }

        public bool Remove(TResource resource, TScope scope, TItem item)
        {
            if (!ReferenceEquals(resource, _resource))
            {
                _resource = resource;
                _resourceOrigin = null;
                _resourcePasses = false;
            }

            if (!ReferenceEquals(scope, _scope))
            {
                _scope = scope;
                _scopeOrigin = null;
                _scopePasses = false;
            }

            if (!side.Classify(item, out var info))
            {
                Passed++;
                if (!_scopePasses)
                {
                    _scopePasses = true;
                    _scopeOrigin?.MarkHandedOut();
                }

                if (!_resourcePasses)
                {
                    _resourcePasses = true;
                    _resourceOrigin?.MarkHandedOut();
                }

                return false;
            }

            if (_resourceOrigin is null)
            {
                _resourceOrigin = new ResourceOrigin(port, TShape.ResourceOf(resource), TShape.SchemaUrlOf(resource));
                if (_resourcePasses)
                {
                    _resourceOrigin.MarkHandedOut();
                }
            }

            if (_scopeOrigin is null)
            {
                _scopeOrigin = new ScopeOrigin(_resourceOrigin, TShape.ScopeOf(scope), TShape.SchemaUrlOf(scope));
                if (_scopePasses)
                {
                    _scopeOrigin.MarkHandedOut();
                }
            }

            var entry = sink.EntryFor(info.Trace);
            side.AddTo(entry, item, _scopeOrigin, info);
            sink.Added(entry, side.IsLogs);
            return true;
        }
    }
}

internal sealed class SpanSide(MergeMetrics metrics) : HierarchySide<TracesShape, ResourceSpans, ScopeSpans, Span>
{
    // Scratch for encoded intake; used only under the state's gate.
    private readonly EncodedTraces _outline = new();
    private readonly List<TraceKey> _traces = [];

    public override bool IsLogs => false;

    public override void Intake(Batch<ResourceSpans> batch, int port, IIntakeSink sink)
    {
        if (!TryIntakeEncoded(batch, port, sink))
        {
            base.Intake(batch, port, sink);
        }
    }

    /// <summary>Every span with a valid trace id and span id is buffered; others pass on, counted.</summary>
    protected override bool Classify(Span item, out ItemInfo info)
    {
        var spanKey = Ids.Span(item.SpanId);
        if (spanKey != 0 && Ids.TryTrace(item.TraceId, out var trace))
        {
            info = new ItemInfo(trace, spanKey, null, false);
            return true;
        }

        metrics.BadInvalidId.Increment();
        info = default;
        return false;
    }

    protected override void AddTo(TraceEntry entry, Span item, ScopeOrigin origin, in ItemInfo info) =>
        (entry.Spans ??= []).Add(new BufferedSpan(item, origin));

    /// <summary>
    /// A batch still in its received bytes whose spans all have valid ids is held without decoding a
    /// span: each is buffered as its slice of the request (decoded when its trace flushes). False,
    /// with nothing taken, when the batch was decoded already, the bytes need the decoder, or some
    /// span has bad ids (the decoded path then passes those on and counts them).
    /// </summary>
    private bool TryIntakeEncoded(Batch<ResourceSpans> batch, int port, IIntakeSink sink)
    {
        try
        {
            if (!batch.TryGetEncoded(out var segments) || !_outline.TryRead(segments))
            {
                return false;
            }

            var spans = _outline.Spans;
            _traces.Clear();
            foreach (var span in spans)
            {
                if (Ids.Span(span.SpanId.Span) == 0 || !Ids.TryTrace(span.TraceId.Span, out var trace))
                {
                    return false;
                }

                _traces.Add(trace);
            }

            var resources = new ResourceOrigin?[_outline.Resources.Count];
            var scopes = new ScopeOrigin?[_outline.Scopes.Count];
            for (var i = 0; i < spans.Count; i++)
            {
                var span = spans[i];
                var origin = scopes[span.Scope] ??= NewScopeOrigin(_outline.Scopes[span.Scope], resources, port);
                var entry = sink.EntryFor(_traces[i]);
                (entry.Spans ??= []).Add(new BufferedSpan(span.Bytes, origin));
                sink.Added(entry, isEvent: false);
            }

            batch.ItemCount = 0;
            return true;
        }
        finally
        {
            // The outline points into the request: do not keep it reachable.
            _outline.Clear();
        }
    }

    private ScopeOrigin NewScopeOrigin(EncodedScope scope, ResourceOrigin?[] resources, int port)
    {
        var resource = resources[scope.Resource] ??= NewResourceOrigin(_outline.Resources[scope.Resource], port);
        return new ScopeOrigin(
            resource,
            scope.Scope is { } bytes ? InstrumentationScope.Parser.ParseFrom(bytes.Span) : null,
            Encoding.UTF8.GetString(scope.SchemaUrl.Span));
    }

    private static ResourceOrigin NewResourceOrigin(EncodedResource resource, int port) =>
        new(port, resource.Resource is { } bytes ? Resource.Parser.ParseFrom(bytes.Span) : null, Encoding.UTF8.GetString(resource.SchemaUrl.Span));

    protected override int CountIn(TraceEntry entry) => entry.SpanCount;

    protected override bool TryKept(TraceEntry entry, int index, out Span item, out ScopeOrigin origin)
    {
        var buffered = entry.Spans![index];
        item = buffered.Span;
        origin = buffered.Origin;
        return !buffered.Dropped;
    }
}

internal sealed class LogSide(MergeMetrics metrics) : HierarchySide<LogsShape, ResourceLogs, ScopeLogs, LogRecord>
{
    public override bool IsLogs => true;

    /// <summary>An AI event has a valid trace id, a valid span id and an event name; other records pass straight on.</summary>
    protected override bool Classify(LogRecord item, out ItemInfo info)
    {
        info = default;
        var spanKey = Ids.Span(item.SpanId);
        if (spanKey == 0 || !Ids.TryTrace(item.TraceId, out var trace))
        {
            return false;
        }

        if (item.EventName.Length > 0)
        {
            info = new ItemInfo(trace, spanKey, item.EventName, false);
            return true;
        }

        var attributes = item.Attributes;
        for (var i = 0; i < attributes.Count; i++)
        {
            if (!string.Equals(attributes[i].Key, GenAiConventions.EventNameAttribute, StringComparison.Ordinal))
            {
                continue;
            }

            var value = attributes[i].Value;
            if (value?.ValueCase != AnyValue.ValueOneofCase.StringValue)
            {
                // An event.name that is not a string names nothing: the record is not an AI event.
                metrics.BadWrongType.Increment();
                return false;
            }

            if (value.StringValue.Length == 0)
            {
                return false;
            }

            info = new ItemInfo(trace, spanKey, value.StringValue, true);
            return true;
        }

        return false;
    }

    protected override void AddTo(TraceEntry entry, LogRecord item, ScopeOrigin origin, in ItemInfo info) =>
        (entry.Events ??= []).Add(new BufferedEvent(item, origin, info.SpanKey, info.EventName!, info.NameFromAttribute));

    protected override int CountIn(TraceEntry entry) => entry.EventCount;

    protected override bool TryKept(TraceEntry entry, int index, out LogRecord item, out ScopeOrigin origin)
    {
        var buffered = entry.Events![index];
        item = buffered.Record;
        origin = buffered.Origin;
        return buffered.Fate == EventFate.PassOn;
    }
}
