using Collector.Pipeline;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Langtrace;

/// <summary>
/// Turns incoming batches into Langtrace requests: spans are grouped by (resource, scope), since
/// the server reads one of each per request, and a group leaves as its own batch when it holds
/// batch_size spans or its first span has waited flush_interval. Groups fill across incoming
/// batches, so an app sending many small batches still yields full requests.
/// <para>
/// Bounded: at most <see cref="MaxGroups"/> groups of fewer than batch_size spans each are held; a
/// new group beyond that sends every held group first. Spans are referenced, never changed.
/// Acks of an incoming batch are held by every request its spans went into.
/// </para>
/// </summary>
internal sealed class LangtraceRequestBatcher(int batchSize, TimeSpan flushInterval)
{
    /// <summary>Distinct (resource, scope) pairs held at once; one app has a handful.</summary>
    internal const int MaxGroups = 1024;

    private readonly Dictionary<GroupKey, Group> _groups = [];
    private readonly Lock _lock = new();
    private long _adds;
    private bool _closed;

    /// <summary>
    /// Takes the spans of <paramref name="batch"/>; returns the request batches that became full
    /// (null when none). <paramref name="becamePending"/> is true when spans now wait and none did before.
    /// After <see cref="Close"/> the batch is handed back unchanged, for the caller to settle.
    /// </summary>
    public List<Batch<ResourceSpans>>? Add(Batch<ResourceSpans> batch, out bool becamePending)
    {
        becamePending = false;
        List<Batch<ResourceSpans>>? ready = null;
        var touched = 0;
        lock (_lock)
        {
            if (_closed)
            {
                return [batch];
            }

            var add = ++_adds;
            var wasEmpty = _groups.Count == 0;
            var bytesPerSpan = batch.ItemCount > 0 ? batch.ByteSize / batch.ItemCount : 0;
            foreach (var resource in batch.Resources)
            {
                foreach (var scope in resource.ScopeSpans)
                {
                    if (scope.Spans.Count == 0)
                    {
                        continue;
                    }

                    var key = new GroupKey(resource.Resource, resource.SchemaUrl, scope.Scope, scope.SchemaUrl);
                    foreach (var span in scope.Spans)
                    {
                        var group = GroupFor(key, ref ready);
                        if (group.LastAdd != add)
                        {
                            // This request now holds data of the batch: it must settle the batch's acks too.
                            group.LastAdd = add;
                            group.TakeAcksOf(batch);
                            touched++;
                        }

                        group.Spans.Add(span);
                        group.ByteSize += bytesPerSpan;
                        if (group.Spans.Count >= batchSize)
                        {
                            _groups.Remove(key);
                            (ready ??= []).Add(group.ToBatch());
                        }
                    }
                }
            }

            becamePending = wasEmpty && _groups.Count > 0;

            // Inside the lock: a flush taking one of these groups must not settle the acks before
            // every group that holds this batch's data is counted as a holder.
            if (touched > 1)
            {
                batch.AddAckHolders(touched - 1);
            }
        }

        if (touched == 0)
        {
            batch.CompleteAcks();
        }

        return ready;
    }

    /// <summary>Request batches whose first span waited at least flush_interval; <paramref name="nextDue"/> is how long until the next one is due (null: nothing waits).</summary>
    public List<Batch<ResourceSpans>>? TakeDue(DateTimeOffset now, out TimeSpan? nextDue)
    {
        nextDue = null;
        List<Batch<ResourceSpans>>? due = null;
        lock (_lock)
        {
            foreach (var (key, group) in _groups)
            {
                var wait = group.Since + flushInterval - now;
                if (wait <= TimeSpan.Zero)
                {
                    // Removing the current entry while enumerating is allowed for Dictionary.
                    _groups.Remove(key);
                    (due ??= []).Add(group.ToBatch());
                }
                else if (nextDue is null || wait < nextDue)
                {
                    nextDue = wait;
                }
            }
        }

        return due;
    }

    /// <summary>Everything held, as request batches; later <see cref="Add"/> calls hand their batch back.</summary>
    public List<Batch<ResourceSpans>> Close()
    {
        lock (_lock)
        {
            _closed = true;
            var all = new List<Batch<ResourceSpans>>(_groups.Count);
            foreach (var group in _groups.Values)
            {
                all.Add(group.ToBatch());
            }

            _groups.Clear();
            return all;
        }
    }

    private Group GroupFor(GroupKey key, ref List<Batch<ResourceSpans>>? ready)
    {
        if (_groups.TryGetValue(key, out var group))
        {
            return group;
        }

        if (_groups.Count >= MaxGroups)
        {
            foreach (var held in _groups.Values)
            {
                (ready ??= []).Add(held.ToBatch());
            }

            _groups.Clear();
        }

        group = new Group(key);
        _groups.Add(key, group);
        return group;
    }

    /// <summary>Value equality of the protobuf messages: equal resources from different requests share a group.</summary>
    private readonly record struct GroupKey(Resource? Resource, string ResourceSchemaUrl, InstrumentationScope? Scope, string ScopeSchemaUrl);

    private sealed class Group
    {
        private readonly ResourceSpans _resource;
        private List<DeliveryAck>? _acks;

        public Group(GroupKey key)
        {
            // Resource and scope are shared with the incoming batches, not copied: nothing downstream changes them.
            var scope = new ScopeSpans { Scope = key.Scope, SchemaUrl = key.ScopeSchemaUrl };
            _resource = new ResourceSpans { Resource = key.Resource, SchemaUrl = key.ResourceSchemaUrl };
            _resource.ScopeSpans.Add(scope);
            Spans = scope.Spans;
        }

        public RepeatedField<Span> Spans { get; }

        public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

        public long ByteSize { get; set; }

        /// <summary>The <see cref="Add"/> call that last added spans (a sequence number, so no batch is kept alive), to hold each batch's acks once per request.</summary>
        public long LastAdd { get; set; }

        public void TakeAcksOf(Batch<ResourceSpans> batch)
        {
            if (batch.Acks is { Count: > 0 } acks)
            {
                (_acks ??= []).AddRange(acks);
            }
        }

        public Batch<ResourceSpans> ToBatch() =>
            new([_resource], Spans.Count, ByteSize) { ReceivedAt = Since, Acks = _acks };
    }
}
