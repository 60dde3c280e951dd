using System.Runtime.InteropServices;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.LangtraceMerge;

/// <summary>
/// The flush-time rules (docs/architecture.md, "GenAI processing") for one trace, in order: (1) event -> span merge
/// (duplicate, semantic overlap, span event, orphan), (2) dual-link de-duplication. Works on
/// a detached <see cref="TraceEntry"/> in place; scratch collections are reused, so one
/// instance serves one flusher at a time.
/// </summary>
internal sealed class TraceMerger(LangtraceMergeConfig config, MergeMetrics metrics)
{
    private const string EventBodyKey = "event.body";
    private const string ServiceTypeKey = GenAiOperation.LangtraceKey;
    private const byte Unvisited = 0;
    private const byte OnPath = 1;
    private const byte Done = 2;

    private readonly ulong _duplicateWindowNanos = (ulong)(config.DuplicateWindow.Ticks * 100);
    private readonly Dictionary<ulong, int> _spanIndex = [];
    private readonly List<int> _order = [];
    private readonly List<sbyte> _isLlm = [];
    private readonly List<ulong> _parentKey = [];
    private readonly List<byte> _marks = [];
    private readonly List<bool> _onCycle = [];
    private readonly List<int> _path = [];
    private readonly List<Candidate> _candidates = [];
    private readonly List<int> _candidateOf = [];
    private readonly EventOrder _eventOrder = new();

    public void Process(TraceEntry entry)
    {
        var spans = entry.Spans;
        IndexSpans(spans);
        if (entry.Events is { Count: > 0 } events)
        {
            MergeEvents(events, spans);
        }

        if (spans is { Count: > 1 })
        {
            DeduplicateDualLinks(spans);
        }

        _spanIndex.Clear();
    }

    private void IndexSpans(List<BufferedSpan>? spans)
    {
        _spanIndex.Clear();
        var count = spans?.Count ?? 0;
        Reset(_isLlm, count, (sbyte)-1);
        for (var i = 0; i < count; i++)
        {
            // The first of several spans with one id wins; the copies are a client retry that dedup removes.
            _spanIndex.TryAdd(Ids.Span(spans![i].Span.SpanId), i);
        }
    }

    private bool IsLlm(List<BufferedSpan> spans, int index)
    {
        var cached = _isLlm[index];
        if (cached < 0)
        {
            cached = GenAiConventions.IsLlmSpan(spans[index].Span) ? (sbyte)1 : (sbyte)0;
            _isLlm[index] = cached;
        }

        return cached == 1;
    }

    // ---- (1) event -> span merge --------------------------------------------------------------

    private void MergeEvents(List<BufferedEvent> list, List<BufferedSpan>? spans)
    {
        var events = CollectionsMarshal.AsSpan(list);
        _eventOrder.Events = list;
        SetIdentity(_order, events.Length);

        // Duplicate: within a (span, name) group in time order, a later event within the window of a kept one is dropped.
        _eventOrder.ByGroup = true;
        _order.Sort(_eventOrder);
        var groupStart = 0;
        for (var p = 1; p < _order.Count; p++)
        {
            ref var current = ref events[_order[p]];
            ref readonly var previous = ref events[_order[p - 1]];
            if (previous.SpanKey != current.SpanKey || !string.Equals(previous.Name, current.Name, StringComparison.Ordinal))
            {
                groupStart = p;
                continue;
            }

            for (var q = p - 1; q >= groupStart; q--)
            {
                ref readonly var earlier = ref events[_order[q]];
                if (current.Time - earlier.Time > _duplicateWindowNanos)
                {
                    break;
                }

                if (earlier.Fate == EventFate.PassOn && (config.DuplicateMatch == DuplicateMatch.Name || SameContent(earlier.Record, current.Record)))
                {
                    current.Fate = EventFate.Consumed;
                    metrics.EventsDuplicate.Increment();
                    break;
                }
            }
        }

        // The other rules, in time order so that span events are appended chronologically.
        _eventOrder.ByGroup = false;
        _order.Sort(_eventOrder);
        for (var p = 0; p < _order.Count; p++)
        {
            ref var ev = ref events[_order[p]];
            if (ev.Fate != EventFate.PassOn)
            {
                continue;
            }

            if (spans is null || !_spanIndex.TryGetValue(ev.SpanKey, out var spanIndex))
            {
                // Orphan: its span is not in this trace's buffer; the record goes on down the logs pipeline unchanged.
                metrics.EventsOrphan.Increment();
                continue;
            }

            var span = spans[spanIndex].Span;
            if (IsLlmTyped(ev) && IsLlm(spans, spanIndex))
            {
                MergeIntoAttributes(ev, span);
                metrics.EventsSemantic.Increment();
            }
            else
            {
                span.Events.Add(ToSpanEvent(ev, ev.Record.Attributes));
                metrics.EventsSpanEvent.Increment();
            }

            ev.Fate = EventFate.Consumed;
        }

        _eventOrder.Events = null;
    }

    /// <summary>An event "of type llm": a GenAI inference event, or langtrace.service.type = llm.</summary>
    private bool IsLlmTyped(in BufferedEvent ev)
    {
        if (GenAiConventions.IsGenAiInferenceEvent(ev.Name))
        {
            return true;
        }

        var type = OtlpAttributes.Find(ev.Record.Attributes, ServiceTypeKey);
        if (type is null)
        {
            return false;
        }

        if (type.ValueCase != AnyValue.ValueOneofCase.StringValue)
        {
            metrics.BadWrongType.Increment();
            return false;
        }

        return string.Equals(type.StringValue.Trim(), "llm", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Semantic overlap: the event's attributes join the span's; a key both carry with different
    /// values is a conflict, settled by conflict_resolution. A body has no attribute to go to, so it
    /// is kept as a span event carrying only the body.
    /// </summary>
    private void MergeIntoAttributes(in BufferedEvent ev, Span span)
    {
        var target = span.Attributes;
        var source = ev.Record.Attributes;
        for (var i = 0; i < source.Count; i++)
        {
            var attribute = source[i];
            if (IsOwnName(ev, attribute))
            {
                continue;
            }

            var existing = OtlpAttributes.IndexOf(target, attribute.Key);
            if (existing < 0)
            {
                target.Add(attribute);
            }
            else if (!Equals(target[existing].Value, attribute.Value))
            {
                metrics.Conflicts.Increment();
                if (config.ConflictResolution == ConflictPreference.PreferEvent)
                {
                    target[existing] = attribute;
                }
            }
        }

        if (HasBody(ev.Record))
        {
            span.Events.Add(ToSpanEvent(ev, null));
        }
    }

    /// <summary>Span event with the event's name and time, its attributes (when given) and its body under event.body.</summary>
    private Span.Types.Event ToSpanEvent(in BufferedEvent ev, RepeatedField<KeyValue>? attributes)
    {
        var record = ev.Record;
        var result = new Span.Types.Event { Name = ev.Name, TimeUnixNano = ev.Time };
        if (attributes is not null)
        {
            result.DroppedAttributesCount = record.DroppedAttributesCount;
            for (var i = 0; i < attributes.Count; i++)
            {
                if (!IsOwnName(ev, attributes[i]))
                {
                    result.Attributes.Add(attributes[i]);
                }
            }
        }

        if (HasBody(record))
        {
            if (OtlpAttributes.IndexOf(result.Attributes, EventBodyKey) < 0)
            {
                // The body moves as its AnyValue: a string stays a string, a structured body stays structured.
                result.Attributes.Add(new KeyValue { Key = EventBodyKey, Value = record.Body });
            }
            else
            {
                // The record's own event.body attribute wins; the body itself is the losing side of a conflict.
                metrics.Conflicts.Increment();
            }
        }

        return result;
    }

    /// <summary>The event.name attribute that only repeats the event's name (it becomes the span event's name).</summary>
    private static bool IsOwnName(in BufferedEvent ev, KeyValue attribute) =>
        ev.NameFromAttribute && string.Equals(attribute.Key, GenAiConventions.EventNameAttribute, StringComparison.Ordinal);

    private static bool HasBody(LogRecord record) => record.Body is { ValueCase: not AnyValue.ValueOneofCase.None };

    /// <summary>Same body and the same attribute set (order ignored).</summary>
    private static bool SameContent(LogRecord a, LogRecord b)
    {
        if (HasBody(a) != HasBody(b) || (HasBody(a) && !a.Body.Equals(b.Body)))
        {
            return false;
        }

        var left = a.Attributes;
        var right = b.Attributes;
        if (left.Count != right.Count)
        {
            return false;
        }

        for (var i = 0; i < left.Count; i++)
        {
            var other = OtlpAttributes.Find(right, left[i].Key);
            if (other is null || !other.Equals(left[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    // ---- (2) dual-link de-duplication ---------------------------------------------------------

    private void DeduplicateDualLinks(List<BufferedSpan> list)
    {
        var spans = CollectionsMarshal.AsSpan(list);
        FindCycles(spans);
        _candidates.Clear();
        Reset(_candidateOf, spans.Length, -1);
        for (var i = 0; i < spans.Length; i++)
        {
            if (!_onCycle[i] && IsLlm(list, i))
            {
                _candidateOf[i] = _candidates.Count;
                _candidates.Add(Describe(spans[i].Span, i));
            }
        }

        if (_candidates.Count < 2)
        {
            return;
        }

        // Each merge can bring new pairs together (a chain of three instrumentations of one call
        // becomes parent/child after the first merge), so passes repeat until none merges.
        var candidates = CollectionsMarshal.AsSpan(_candidates);
        bool merged;
        do
        {
            merged = false;
            for (var a = 0; a < candidates.Length; a++)
            {
                for (var b = a + 1; b < candidates.Length && candidates[a].Alive; b++)
                {
                    if (candidates[b].Alive && TryMerge(spans, candidates, a, b))
                    {
                        merged = true;
                    }
                }
            }
        }
        while (merged);
    }

    /// <summary>Marks spans that lie on a parent cycle (a self-parent is a cycle of one); they are never merged.</summary>
    private void FindCycles(Span<BufferedSpan> spans)
    {
        Reset(_parentKey, spans.Length, 0UL);
        Reset(_marks, spans.Length, Unvisited);
        Reset(_onCycle, spans.Length, false);
        for (var i = 0; i < spans.Length; i++)
        {
            _parentKey[i] = Ids.Span(spans[i].Span.ParentSpanId);
        }

        for (var start = 0; start < spans.Length; start++)
        {
            if (_marks[start] != Unvisited)
            {
                continue;
            }

            _path.Clear();
            var node = start;
            while (node >= 0 && _marks[node] == Unvisited)
            {
                _marks[node] = OnPath;
                _path.Add(node);
                node = _parentKey[node] != 0 && _spanIndex.TryGetValue(_parentKey[node], out var parent) ? parent : -1;
            }

            if (node >= 0 && _marks[node] == OnPath)
            {
                var length = 0;
                for (var p = _path.Count - 1; p >= 0; p--)
                {
                    _onCycle[_path[p]] = true;
                    length++;
                    if (_path[p] == node)
                    {
                        break;
                    }
                }

                (length == 1 ? metrics.BadSelfParent : metrics.BadParentCycle).Increment();
            }

            for (var p = 0; p < _path.Count; p++)
            {
                _marks[_path[p]] = Done;
            }
        }
    }

    private Candidate Describe(Span span, int index)
    {
        var start = span.StartTimeUnixNano;
        var end = span.EndTimeUnixNano;
        if (end < start)
        {
            metrics.BadTimeRange.Increment();
            end = start;
        }

        var kind = GenAiConventions.Operation(span.Attributes);
        return new Candidate
        {
            Span = index,
            Key = Ids.Span(span.SpanId),
            Parent = _parentKey[index],
            Start = start,
            End = end,
            Kind = GenAiOperation.IsLlm(kind) ? kind : OperationKind.Llm,
            Alive = true,
        }.WithFacts(span);
    }

    /// <summary>Dual-link de-duplication (docs/architecture.md, "GenAI processing"): merges the pair when they are one LLM call; true when merged.</summary>
    private bool TryMerge(Span<BufferedSpan> spans, Span<Candidate> candidates, int a, int b)
    {
        ref var first = ref candidates[a];
        ref var second = ref candidates[b];
        if (first.Key == second.Key)
        {
            return false; // One span id twice is a retried export, not two instrumentations.
        }

        var firstIsOuter = second.Parent == first.Key;
        var secondIsOuter = first.Parent == second.Key;
        if (!firstIsOuter && !secondIsOuter && first.Parent != second.Parent)
        {
            return false;
        }

        if (!GenAiOperation.Compatible(first.Kind, second.Kind)
            || !SameOrMissing(first.Provider, second.Provider)
            || !ModelsMatch(first, second)
            || !SameOrMissing(first.InputTokens, second.InputTokens)
            || !SameOrMissing(first.OutputTokens, second.OutputTokens)
            || !SameOrMissing(first.TotalTokens, second.TotalTokens)
            || !Overlaps(first, second))
        {
            return false;
        }

        var keepFirst = first.Richness != second.Richness ? first.Richness > second.Richness
            : firstIsOuter || secondIsOuter ? firstIsOuter
            : first.Start != second.Start ? first.Start < second.Start
            : first.End - first.Start >= second.End - second.Start;
        if (keepFirst)
        {
            Merge(spans, candidates, ref first, ref second);
        }
        else
        {
            Merge(spans, candidates, ref second, ref first);
        }

        return true;
    }

    private bool Overlaps(in Candidate a, in Candidate b)
    {
        var overlapStart = Math.Max(a.Start, b.Start);
        var overlapEnd = Math.Min(a.End, b.End);
        if (overlapEnd < overlapStart)
        {
            return false;
        }

        var shorter = Math.Min(a.End - a.Start, b.End - b.Start);
        return (double)(overlapEnd - overlapStart) >= config.OverlapRatio * shorter;
    }

    /// <summary>Drop <paramref name="drop"/> into <paramref name="keep"/>: missing attributes, events, links, error status, children.</summary>
    private void Merge(Span<BufferedSpan> spans, Span<Candidate> candidates, ref Candidate keep, ref Candidate drop)
    {
        var kept = spans[keep.Span].Span;
        var dropped = spans[drop.Span].Span;
        var keptAttributes = kept.Attributes;
        foreach (var attribute in dropped.Attributes)
        {
            if (OtlpAttributes.IndexOf(keptAttributes, attribute.Key) < 0)
            {
                keptAttributes.Add(attribute);
            }
        }

        kept.Events.AddRange(dropped.Events);
        kept.Links.AddRange(dropped.Links);
        if (kept.Status is null or { Code: Status.Types.StatusCode.Unset } && dropped.Status is { Code: Status.Types.StatusCode.Error })
        {
            kept.Status = dropped.Status;
        }

        if (keep.Parent == drop.Key)
        {
            // The inner span takes the outer one's place in the tree.
            kept.ParentSpanId = dropped.ParentSpanId;
            keep.Parent = drop.Parent;
            _parentKey[keep.Span] = drop.Parent;
        }

        for (var i = 0; i < spans.Length; i++)
        {
            if (_parentKey[i] != drop.Key || i == keep.Span || spans[i].Dropped)
            {
                continue;
            }

            spans[i].Span.ParentSpanId = kept.SpanId;
            _parentKey[i] = keep.Key;
            if (_candidateOf[i] >= 0)
            {
                candidates[_candidateOf[i]].Parent = keep.Key;
            }
        }

        spans[drop.Span].Dropped = true;
        drop.Alive = false;
        keep = keep.WithFacts(kept);
        metrics.DualLinkMerged.Increment();
    }

    /// <summary>
    /// A span without any model matches; otherwise some model of one (request or response) must equal
    /// some model of the other: OpenInference records only the response model (gpt-4o-2024-08-06)
    /// where OpenTelemetry GenAI records both it and the request model (gpt-4o).
    /// </summary>
    private static bool ModelsMatch(in Candidate a, in Candidate b) =>
        (a.RequestModel ?? a.ResponseModel) is null
        || (b.RequestModel ?? b.ResponseModel) is null
        || Same(a.RequestModel, b.RequestModel) || Same(a.RequestModel, b.ResponseModel)
        || Same(a.ResponseModel, b.RequestModel) || Same(a.ResponseModel, b.ResponseModel);

    private static bool Same(string? a, string? b) => a is not null && string.Equals(a, b, StringComparison.Ordinal);

    private static bool SameOrMissing(string? a, string? b) => a is null || b is null || string.Equals(a, b, StringComparison.Ordinal);

    private static bool SameOrMissing(long? a, long? b) => a is null || b is null || a == b;

    private static void Reset<T>(List<T> list, int count, T value)
    {
        list.Clear();
        CollectionsMarshal.SetCount(list, count);
        CollectionsMarshal.AsSpan(list).Fill(value);
    }

    private static void SetIdentity(List<int> list, int count)
    {
        list.Clear();
        CollectionsMarshal.SetCount(list, count);
        var span = CollectionsMarshal.AsSpan(list);
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = i;
        }
    }

    /// <summary>What the pair test reads of an LLM span, computed once (and again after a merge adds attributes).</summary>
    private struct Candidate
    {
        public int Span;
        public ulong Key;
        public ulong Parent;
        public ulong Start;
        public ulong End;
        public OperationKind Kind;
        public bool Alive;
        public string? Provider;
        public string? RequestModel;
        public string? ResponseModel;
        public long? InputTokens;
        public long? OutputTokens;
        public long? TotalTokens;
        public int Richness;

        public readonly Candidate WithFacts(Span span)
        {
            var view = GenAiSpanView.Of(span.Attributes);
            return this with
            {
                Provider = view.Provider(),
                RequestModel = view.FirstName(GenAiConcept.RequestModel),
                ResponseModel = view.FirstName(GenAiConcept.ResponseModel),
                InputTokens = view.InputTokens(),
                OutputTokens = view.OutputTokens(),
                // Only an explicit total: one derived from input + output would make a missing side conflict.
                TotalTokens = view.FirstCount(GenAiConcept.TotalTokens),
                Richness = GenAiConventions.GenAiAttributeCount(span),
            };
        }
    }

    /// <summary>Sorts event indices by (span, name, time) for the duplicate rule, or by time; ties by arrival.</summary>
    private sealed class EventOrder : IComparer<int>
    {
        public List<BufferedEvent>? Events;
        public bool ByGroup;

        public int Compare(int x, int y)
        {
            var events = CollectionsMarshal.AsSpan(Events);
            ref readonly var a = ref events[x];
            ref readonly var b = ref events[y];
            if (ByGroup)
            {
                var c = a.SpanKey.CompareTo(b.SpanKey);
                if (c == 0)
                {
                    c = string.CompareOrdinal(a.Name, b.Name);
                }

                if (c != 0)
                {
                    return c;
                }
            }

            var t = a.Time.CompareTo(b.Time);
            return t != 0 ? t : x.CompareTo(y);
        }
    }
}
