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
internal abstract class HierarchySide<TResource, TScope, TItem> : MergeSide<TResource>
    where TResource : class, IMessage<TResource>
    where TScope : class, IMessage<TScope>
    where TItem : class
{
    // Output grouping scratch; used only under the state's gate.
    private readonly Dictionary<ScopeOrigin, TScope> _scopes = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<ResourceOrigin, TResource> _resources = new(ReferenceEqualityComparer.Instance);

    protected abstract RepeatedField<TScope> ScopesOf(TResource resource);

    protected abstract RepeatedField<TItem> ItemsOf(TScope scope);

    protected abstract Resource? ResourceOf(TResource resource);

    protected abstract string SchemaOf(TResource resource);

    protected abstract InstrumentationScope? ScopeOf(TScope scope);

    protected abstract string SchemaOf(TScope scope);

    protected abstract TResource NewResource(Resource? resource, string schemaUrl);

    protected abstract TScope NewScope(InstrumentationScope? scope, string schemaUrl);

    /// <summary>True when the item belongs in the buffer.</summary>
    protected abstract bool Classify(TItem item, out ItemInfo info);

    protected abstract void AddTo(TraceEntry entry, TItem item, ScopeOrigin origin, in ItemInfo info);

    protected abstract int CountIn(TraceEntry entry);

    /// <summary>The item at <paramref name="index"/> when it leaves in this signal's stream.</summary>
    protected abstract bool TryKept(TraceEntry entry, int index, out TItem item, out ScopeOrigin origin);

    public override void Intake(Batch<TResource> batch, int port, IIntakeSink sink)
    {
        var resources = batch.Resources;
        var keptResources = 0;
        var passed = 0;
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            ResourceOrigin? resourceOrigin = null;
            var scopes = ScopesOf(resource);
            var keptScopes = 0;
            for (var s = 0; s < scopes.Count; s++)
            {
                var scope = scopes[s];
                ScopeOrigin? scopeOrigin = null;
                var items = ItemsOf(scope);
                var keptItems = 0;
                for (var i = 0; i < items.Count; i++)
                {
                    var item = items[i];
                    if (!Classify(item, out var info))
                    {
                        items[keptItems++] = item;
                        continue;
                    }

                    resourceOrigin ??= new ResourceOrigin(port, ResourceOf(resource), SchemaOf(resource));
                    scopeOrigin ??= new ScopeOrigin(resourceOrigin, ScopeOf(scope), SchemaOf(scope));
                    var entry = sink.EntryFor(info.Trace);
                    AddTo(entry, item, scopeOrigin, info);
                    sink.Added(entry, IsLogs);
                }

                Truncate(items, keptItems);
                if (keptItems > 0)
                {
                    // The original scope object goes on with the pass-through items.
                    scopeOrigin?.MarkHandedOut();
                    scopes[keptScopes++] = scope;
                    passed += keptItems;
                }
            }

            Truncate(scopes, keptScopes);
            if (keptScopes > 0)
            {
                resourceOrigin?.MarkHandedOut();
                resources[keptResources++] = resource;
            }
        }

        Truncate(resources, keptResources);
        batch.ItemCount = passed;
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
                        resource = NewResource(resourceOrigin.Take(), resourceOrigin.SchemaUrl);
                        _resources.Add(resourceOrigin, resource);
                        var output = outputs[resourceOrigin.Port] ??= new Batch<TResource>([], 0);
                        output.Resources.Add(resource);
                    }

                    scope = NewScope(origin.Take(), origin.SchemaUrl);
                    _scopes.Add(origin, scope);
                    ScopesOf(resource).Add(scope);
                }

                ItemsOf(scope).Add(item);
                outputs[origin.Resource.Port]!.ItemCount++;
            }
        }

        // Do not keep the flushed data reachable from the scratch maps.
        _scopes.Clear();
        _resources.Clear();
    }

    private static void Truncate<TElement>(RepeatedField<TElement> field, int count)
    {
        for (var i = field.Count - 1; i >= count; i--)
        {
            field.RemoveAt(i);
        }
    }
}

internal sealed class SpanSide(MergeMetrics metrics) : HierarchySide<ResourceSpans, ScopeSpans, Span>
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

    protected override RepeatedField<ScopeSpans> ScopesOf(ResourceSpans resource) => resource.ScopeSpans;

    protected override RepeatedField<Span> ItemsOf(ScopeSpans scope) => scope.Spans;

    protected override Resource? ResourceOf(ResourceSpans resource) => resource.Resource;

    protected override string SchemaOf(ResourceSpans resource) => resource.SchemaUrl;

    protected override InstrumentationScope? ScopeOf(ScopeSpans scope) => scope.Scope;

    protected override string SchemaOf(ScopeSpans scope) => scope.SchemaUrl;

    protected override ResourceSpans NewResource(Resource? resource, string schemaUrl) => new() { Resource = resource, SchemaUrl = schemaUrl };

    protected override ScopeSpans NewScope(InstrumentationScope? scope, string schemaUrl) => new() { Scope = scope, SchemaUrl = schemaUrl };

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

internal sealed class LogSide(MergeMetrics metrics) : HierarchySide<ResourceLogs, ScopeLogs, LogRecord>
{
    public override bool IsLogs => true;

    protected override RepeatedField<ScopeLogs> ScopesOf(ResourceLogs resource) => resource.ScopeLogs;

    protected override RepeatedField<LogRecord> ItemsOf(ScopeLogs scope) => scope.LogRecords;

    protected override Resource? ResourceOf(ResourceLogs resource) => resource.Resource;

    protected override string SchemaOf(ResourceLogs resource) => resource.SchemaUrl;

    protected override InstrumentationScope? ScopeOf(ScopeLogs scope) => scope.Scope;

    protected override string SchemaOf(ScopeLogs scope) => scope.SchemaUrl;

    protected override ResourceLogs NewResource(Resource? resource, string schemaUrl) => new() { Resource = resource, SchemaUrl = schemaUrl };

    protected override ScopeLogs NewScope(InstrumentationScope? scope, string schemaUrl) => new() { Scope = scope, SchemaUrl = schemaUrl };

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
