using System.Buffers;
using System.Text;
using System.Text.Json;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using Event = OpenTelemetry.Proto.Trace.V1.Span.Types.Event;

namespace Collector.Processors.ConflictResolution;

/// <summary>
/// The conflict_resolution rules for one span (see README.md): per concept, gather the values
/// under every convention's keys, pick one by <see cref="ConflictPreference"/>, write it under the
/// target keys, record every disagreement in <c>collector.conflicts</c>, and remove the source
/// keys whose information now lives in a target key or in a conflict record. Stateless and
/// thread-safe: per-call scratch lives on the calling thread.
/// </summary>
internal sealed class SpanNormalizer
{
    public const string ConflictsAttribute = "collector.conflicts";

    /// <summary>Longer values (message lists) are cut in conflict records; the record shows what disagreed, not the whole prompt.</summary>
    public const int MaxRecordedValueLength = 256;

    private static readonly JsonWriterOptions RecordJsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static Candidate[]? t_candidates;

    private readonly TargetKeys _targets;
    private readonly bool _keepSourceKeys;
    private readonly ConflictPreference _prefer;
    private readonly string _preferName;
    private readonly Counter[] _conflicts;
    private readonly Counter[] _skipped;

    public SpanNormalizer(ConflictResolutionConfig config, SelfMetrics metrics, string processorId)
    {
        _targets = TargetKeys.For(config.Target);
        _keepSourceKeys = config.KeepSourceKeys;
        _prefer = config.Prefer;
        _preferName = config.Prefer switch
        {
            ConflictPreference.Source => "source",
            ConflictPreference.Max => "max",
            _ => "target",
        };
        var concepts = GenAiConventions.Concepts;
        _conflicts = new Counter[concepts.Length];
        _skipped = new Counter[concepts.Length];
        for (var i = 0; i < concepts.Length; i++)
        {
            var labels = new[] { ("processor", processorId), ("concept", concepts[i].Name) };
            _conflicts[i] = metrics.Counter("collector_processor_conflict_resolution_conflicts_total", "GenAI keys that disagreed about one concept and were resolved by `prefer`.", labels);
            _skipped[i] = metrics.Counter("collector_processor_conflict_resolution_skipped_values_total", "GenAI attribute values that could not be interpreted (wrong type, not a number, not a message list) and were left as they are.", labels);
        }
    }

    /// <summary>Normalises <paramref name="span"/> in place; returns the number of conflicts recorded.</summary>
    public int Normalize(Span span)
    {
        var presence = KeyPresence.Scan(span);
        if (!presence.Any)
        {
            return 0;
        }

        var isLlm = HasKeyOtherThan(presence, GenAiConventions.Descriptor(GenAiConcept.Operation), targetKey: string.Empty) && GenAiConventions.IsLlmSpan(span.Attributes);
        var state = new SpanState(span, presence, isLlm);
        ResolveOperation(ref state);
        ResolveScalar(ref state, GenAiConcept.Provider);
        ResolveScalar(ref state, GenAiConcept.RequestModel);
        ResolveScalar(ref state, GenAiConcept.ResponseModel);
        var input = ResolveScalar(ref state, GenAiConcept.InputTokens);
        var output = ResolveScalar(ref state, GenAiConcept.OutputTokens);
        var total = ResolveScalar(ref state, GenAiConcept.TotalTokens);
        if (total is null && input is not null && output is not null)
        {
            OtlpAttributes.SetInt(span.Attributes, GenAiConventions.TotalTokensKey, input.Value + output.Value);
        }

        ResolveMessages(ref state, GenAiConcept.Prompt);
        ResolveMessages(ref state, GenAiConcept.Completion);
        if (state.Conflicts is null)
        {
            return 0;
        }

        AppendConflicts(span.Attributes, state.Conflicts);
        return state.Conflicts.Count;
    }

    // ---- scalars: provider, models, token counts ------------------------------------------------

    /// <summary>Resolves a name or count concept; returns the chosen count (null for names or when absent).</summary>
    private long? ResolveScalar(ref SpanState state, GenAiConcept concept)
    {
        var descriptor = GenAiConventions.Descriptor(concept);
        var attributes = state.Span.Attributes;
        var isCount = descriptor.Kind == ConceptValueKind.Count;
        var targetKeys = _targets.Of(concept);
        var candidates = Scratch();
        var n = 0;
        for (var i = 0; i < targetKeys.Length; i++)
        {
            if (Applies(ref state, concept, targetKeys[i]))
            {
                CollectScalar(ref state, concept, targetKeys[i], targetSide: true, isCount, candidates, ref n);
            }
        }

        foreach (var key in descriptor.Keys)
        {
            if (!_targets.IsTargetKey(concept, key.Key) && Applies(ref state, concept, key.Key))
            {
                CollectScalar(ref state, concept, key.Key, targetSide: false, isCount, candidates, ref n);
            }
        }

        if (n == 0)
        {
            return null;
        }

        var chosen = Pick(candidates, n, isCount);
        var winner = candidates[chosen];
        for (var i = 0; i < n; i++)
        {
            if (i != chosen && !SameScalar(winner, candidates[i], isCount))
            {
                candidates[i].Conflicted = true;
                state.Record(this, concept, winner.Key, ScalarValue(winner, isCount), candidates[i].Key, ScalarValue(candidates[i], isCount));
            }
        }

        // Providers are written in the lowercase form OTel GenAI and Langtrace use; models only trimmed.
        var text = isCount ? null : concept == GenAiConcept.Provider ? GenAiConventions.NormalizeName(winner.Text!) : winner.Text!.Trim();
        for (var i = 0; i < targetKeys.Length; i++)
        {
            if (!Applies(ref state, concept, targetKeys[i]))
            {
                continue;
            }

            var existing = OtlpAttributes.Find(attributes, targetKeys[i]);
            if (isCount)
            {
                if (existing is not { ValueCase: AnyValue.ValueOneofCase.IntValue } || existing.IntValue != winner.Count)
                {
                    OtlpAttributes.SetInt(attributes, targetKeys[i], winner.Count);
                }
            }
            else if (existing is not { ValueCase: AnyValue.ValueOneofCase.StringValue }
                || (i == 0 ? existing.StringValue != text : !SameName(existing.StringValue, text!)))
            {
                // Mirrors keep their own spelling when they agree (Langtrace shows langtrace.service.name as is).
                OtlpAttributes.SetString(attributes, targetKeys[i], text!);
            }
        }

        if (!_keepSourceKeys)
        {
            for (var i = 0; i < n; i++)
            {
                if (!candidates[i].TargetSide)
                {
                    OtlpAttributes.Remove(attributes, candidates[i].Key);
                }
            }
        }

        ClearScratch(candidates, n);
        return isCount ? winner.Count : null;
    }

    /// <summary>False for keys that carry the concept only on LLM spans (<c>langtrace.service.name</c> names a framework or database elsewhere).</summary>
    private static bool Applies(ref SpanState state, GenAiConcept concept, string key)
    {
        if (state.IsLlm)
        {
            return true;
        }

        foreach (var conceptKey in GenAiConventions.Descriptor(concept).Keys)
        {
            if (conceptKey.OnlyOnLlmSpans && conceptKey.Key == key)
            {
                return false;
            }
        }

        return true;
    }

    private void CollectScalar(ref SpanState state, GenAiConcept concept, string key, bool targetSide, bool isCount, Candidate[] candidates, ref int n)
    {
        var value = state.Presence.Has(key) ? OtlpAttributes.Find(state.Span.Attributes, key) : null;
        if (value is null)
        {
            return;
        }

        var candidate = new Candidate { Key = key, TargetSide = targetSide };
        if (isCount)
        {
            if (!GenAiConventions.TryGetCount(value, out candidate.Count))
            {
                _skipped[(int)concept].Increment();
                return;
            }
        }
        else if (value.ValueCase == AnyValue.ValueOneofCase.StringValue && !string.IsNullOrWhiteSpace(value.StringValue))
        {
            candidate.Text = value.StringValue;
        }
        else
        {
            _skipped[(int)concept].Increment();
            return;
        }

        candidates[n++] = candidate;
    }

    /// <summary>Candidates are ordered target keys first, then sources in precedence order.</summary>
    private int Pick(Candidate[] candidates, int n, bool numeric)
    {
        switch (_prefer)
        {
            case ConflictPreference.Source:
                for (var i = 0; i < n; i++)
                {
                    if (!candidates[i].TargetSide)
                    {
                        return i;
                    }
                }

                return 0;
            case ConflictPreference.Max when numeric:
                var best = 0;
                for (var i = 1; i < n; i++)
                {
                    if (candidates[i].Count > candidates[best].Count)
                    {
                        best = i;
                    }
                }

                return best;
            default:
                return 0;
        }
    }

    private static bool SameScalar(in Candidate a, in Candidate b, bool isCount) =>
        isCount ? a.Count == b.Count : SameName(a.Text!, b.Text!);

    private static bool SameName(string a, string b) =>
        a.AsSpan().Trim().Equals(b.AsSpan().Trim(), StringComparison.OrdinalIgnoreCase);

    private static object ScalarValue(in Candidate candidate, bool isCount) => isCount ? candidate.Count : candidate.Text!;

    // ---- operation / span kind ----------------------------------------------------------------

    private void ResolveOperation(ref SpanState state)
    {
        const GenAiConcept concept = GenAiConcept.Operation;
        var attributes = state.Span.Attributes;
        var targetKey = _targets.Of(concept)[0];
        var existingTarget = OtlpAttributes.Find(attributes, targetKey);
        if (existingTarget is { ValueCase: AnyValue.ValueOneofCase.StringValue }
            && _targets.OperationValue(GenAiOperation.Parse(targetKey, existingTarget.StringValue)) is null)
        {
            // A target value we do not understand (a custom operation name) is the user's; leave the concept alone.
            return;
        }

        var candidates = Scratch();
        var n = 0;
        CollectOperation(ref state, targetKey, targetSide: true, candidates, ref n);
        foreach (var key in GenAiConventions.Descriptor(concept).Keys)
        {
            if (key.Key != targetKey)
            {
                CollectOperation(ref state, key.Key, targetSide: false, candidates, ref n);
            }
        }

        if (n == 0 || (n == 1 && candidates[0].TargetSide))
        {
            // Nothing to map or resolve.
            ClearScratch(candidates, n);
            return;
        }

        var chosen = Pick(candidates, n, numeric: false);
        var refined = candidates[chosen].Kind;
        for (var i = 0; i < n; i++)
        {
            if (i == chosen)
            {
                continue;
            }

            if (GenAiOperation.Compatible(refined, candidates[i].Kind))
            {
                refined = GenAiOperation.MoreSpecific(refined, candidates[i].Kind);
            }
            else
            {
                candidates[i].Conflicted = true;
                state.Record(this, concept, candidates[chosen].Key, candidates[chosen].Text!, candidates[i].Key, candidates[i].Text!);
            }
        }

        var value = _targets.OperationValue(refined)!;
        if (existingTarget is not { ValueCase: AnyValue.ValueOneofCase.StringValue }
            || (GenAiOperation.Parse(targetKey, existingTarget.StringValue) != refined
                && !string.Equals(existingTarget.StringValue.Trim(), value, StringComparison.OrdinalIgnoreCase)))
        {
            OtlpAttributes.SetString(attributes, targetKey, value);
        }

        if (!_keepSourceKeys)
        {
            var written = GenAiOperation.Parse(targetKey, OtlpAttributes.FindString(attributes, targetKey)!);
            for (var i = 0; i < n; i++)
            {
                var c = candidates[i];
                if (!c.TargetSide && (c.Conflicted || Represents(written, c.Kind)))
                {
                    OtlpAttributes.Remove(attributes, c.Key);
                }
            }
        }

        ClearScratch(candidates, n);
    }

    private void CollectOperation(ref SpanState state, string key, bool targetSide, Candidate[] candidates, ref int n)
    {
        var value = state.Presence.Has(key) ? OtlpAttributes.Find(state.Span.Attributes, key) : null;
        if (value is null)
        {
            return;
        }

        if (value.ValueCase != AnyValue.ValueOneofCase.StringValue)
        {
            _skipped[(int)GenAiConcept.Operation].Increment();
            return;
        }

        // Kinds the target cannot express (an OpenInference CHAIN under otel_genai) are not candidates and stay.
        var kind = GenAiOperation.Parse(key, value.StringValue);
        if (_targets.OperationValue(kind) is not null)
        {
            candidates[n++] = new Candidate { Key = key, TargetSide = targetSide, Kind = kind, Text = value.StringValue };
        }
    }

    /// <summary>The written kind carries all a source said: the same kind, or the source only said "an LLM" / "a framework span".</summary>
    private static bool Represents(OperationKind written, OperationKind source) =>
        written == source || (source is OperationKind.Llm or OperationKind.Framework && GenAiOperation.Compatible(written, source));

    // ---- prompts and completions ---------------------------------------------------------------

    private void ResolveMessages(ref SpanState state, GenAiConcept concept)
    {
        var span = state.Span;
        var descriptor = GenAiConventions.Descriptor(concept);
        var targetKey = _targets.Of(concept)[0];
        if (!HasKeyOtherThan(state.Presence, descriptor, targetKey))
        {
            // Only the target form (or nothing): no JSON needs parsing.
            return;
        }

        List<MessageCandidate>? candidates = null;
        foreach (var key in descriptor.Keys)
        {
            if (key.Key == targetKey)
            {
                CollectMessages(span, concept, key, targetSide: true, ref candidates);
            }
        }

        foreach (var key in descriptor.Keys)
        {
            if (key.Key != targetKey)
            {
                CollectMessages(span, concept, key, targetSide: false, ref candidates);
            }
        }

        if (candidates is null)
        {
            return;
        }

        var chosen = 0;
        if (_prefer == ConflictPreference.Source)
        {
            chosen = candidates.FindIndex(c => !c.TargetSide);
            chosen = chosen < 0 ? 0 : chosen;
        }

        var winner = candidates[chosen];
        for (var i = 0; i < candidates.Count; i++)
        {
            if (i != chosen && !ChatMessage.SameContent(winner.Messages, candidates[i].Messages))
            {
                state.Record(this, concept, winner.Key.Key, Truncate(winner.Display), candidates[i].Key.Key, Truncate(candidates[i].Display));
            }
        }

        var target = candidates[0].TargetSide ? candidates[0] : null;
        if (target is null || (!ReferenceEquals(winner, target) && !ChatMessage.SameContent(winner.Messages, target.Messages)))
        {
            WriteTargetMessages(span, concept, winner.Messages, target);
        }

        if (!_keepSourceKeys)
        {
            foreach (var candidate in candidates)
            {
                if (!candidate.TargetSide)
                {
                    RemoveSource(span, candidate);
                }
            }
        }
    }

    /// <summary>True when any key of the concept other than <paramref name="targetKey"/> is present.</summary>
    private static bool HasKeyOtherThan(KeyPresence presence, ConceptDescriptor descriptor, string targetKey)
    {
        foreach (var key in descriptor.Keys)
        {
            if (key.Key != targetKey && presence.Has(key))
            {
                return true;
            }
        }

        return false;
    }

    private void CollectMessages(Span span, GenAiConcept concept, ConceptKey key, bool targetSide, ref List<MessageCandidate>? candidates)
    {
        var attributes = span.Attributes;
        List<ChatMessage>? messages;
        string? display = null;
        Event? spanEvent = null;
        switch (key.Form)
        {
            case ConceptKeyForm.IndexedMessages:
                messages = IndexedMessageForm.For(key).Read(attributes);
                break;
            case ConceptKeyForm.SpanEvent:
                spanEvent = FindEvent(span.Events, key.Key);
                if (spanEvent is null)
                {
                    return;
                }

                var eventValue = OtlpAttributes.Find(spanEvent.Attributes, key.EventAttribute!);
                display = eventValue is { ValueCase: AnyValue.ValueOneofCase.StringValue } ? eventValue.StringValue : null;
                messages = display is null ? null : MessageJson.TryParse(display);
                if (messages is null)
                {
                    _skipped[(int)concept].Increment();
                    return;
                }

                break;
            default:
                var value = OtlpAttributes.Find(attributes, key.Key);
                if (value is null)
                {
                    return;
                }

                display = value.ValueCase == AnyValue.ValueOneofCase.StringValue ? value.StringValue : null;
                messages = display is null ? null : MessageJson.TryParse(display);
                if (messages is null)
                {
                    _skipped[(int)concept].Increment();
                    return;
                }

                break;
        }

        if (messages is null)
        {
            return;
        }

        candidates ??= [];
        candidates.Add(new MessageCandidate(key, targetSide, messages, display ?? MessageJson.Write(messages, MessageJsonShape.Langtrace), spanEvent));
    }

    private void WriteTargetMessages(Span span, GenAiConcept concept, List<ChatMessage> messages, MessageCandidate? existingTarget)
    {
        var json = MessageJson.Write(messages, _targets.MessageShape);
        if (_targets.Target == ConflictTarget.OtelGenAi)
        {
            OtlpAttributes.SetString(span.Attributes, _targets.Of(concept)[0], json);
            return;
        }

        var attributeName = concept == GenAiConcept.Prompt ? GenAiConventions.LangtracePromptAttribute : GenAiConventions.LangtraceCompletionAttribute;
        var spanEvent = existingTarget?.Event;
        if (spanEvent is null)
        {
            // Langtrace shows the prompt at the call's start and the completion at its end.
            var time = concept == GenAiConcept.Prompt || span.EndTimeUnixNano == 0 ? span.StartTimeUnixNano : span.EndTimeUnixNano;
            spanEvent = new Event { Name = _targets.Of(concept)[0], TimeUnixNano = time };
            span.Events.Add(spanEvent);
        }

        OtlpAttributes.SetString(spanEvent.Attributes, attributeName, json);
    }

    private static void RemoveSource(Span span, MessageCandidate candidate)
    {
        switch (candidate.Key.Form)
        {
            case ConceptKeyForm.IndexedMessages:
                IndexedMessageForm.For(candidate.Key).Remove(span.Attributes);
                break;
            case ConceptKeyForm.SpanEvent:
                span.Events.Remove(candidate.Event!);
                break;
            default:
                OtlpAttributes.Remove(span.Attributes, candidate.Key.Key);
                break;
        }
    }

    private static Event? FindEvent(RepeatedField<Event> events, string name)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Name == name)
            {
                return events[i];
            }
        }

        return null;
    }

    private static string Truncate(string value) =>
        value.Length <= MaxRecordedValueLength ? value : string.Concat(value.AsSpan(0, MaxRecordedValueLength), "…");

    // ---- conflict records -----------------------------------------------------------------------

    /// <summary>
    /// One record: <c>{"concept":"input_tokens","prefer":"target","chosen":{"key":"gen_ai.usage.input_tokens","value":10},
    /// "rejected":{"key":"llm.token_count.prompt","value":12}}</c>; counts are JSON numbers, everything else strings.
    /// </summary>
    private string FormatRecord(GenAiConcept concept, string chosenKey, object chosenValue, string rejectedKey, object rejectedValue)
    {
        var buffer = new ArrayBufferWriter<byte>(192);
        using (var writer = new Utf8JsonWriter(buffer, RecordJsonOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("concept", GenAiConventions.Descriptor(concept).Name);
            writer.WriteString("prefer", _preferName);
            WriteSide(writer, "chosen", chosenKey, chosenValue);
            WriteSide(writer, "rejected", rejectedKey, rejectedValue);
            writer.WriteEndObject();
        }

        _conflicts[(int)concept].Increment();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteSide(Utf8JsonWriter writer, string name, string key, object value)
    {
        writer.WriteStartObject(name);
        writer.WriteString("key", key);
        if (value is long count)
        {
            writer.WriteNumber("value", count);
        }
        else
        {
            writer.WriteString("value", (string)value);
        }

        writer.WriteEndObject();
    }

    /// <summary>Appends to an existing <c>collector.conflicts</c> (another instance may have run first), skipping records already there.</summary>
    private static void AppendConflicts(RepeatedField<KeyValue> attributes, List<string> records)
    {
        var existing = OtlpAttributes.Find(attributes, ConflictsAttribute);
        ArrayValue array;
        if (existing is { ValueCase: AnyValue.ValueOneofCase.ArrayValue })
        {
            array = existing.ArrayValue;
        }
        else
        {
            array = new ArrayValue();
            if (existing is not null && existing.ValueCase != AnyValue.ValueOneofCase.None)
            {
                array.Values.Add(existing.Clone());
            }

            OtlpAttributes.Set(attributes, ConflictsAttribute, new AnyValue { ArrayValue = array });
        }

        foreach (var record in records)
        {
            if (!Contains(array, record))
            {
                array.Values.Add(new AnyValue { StringValue = record });
            }
        }
    }

    private static bool Contains(ArrayValue array, string record)
    {
        foreach (var value in array.Values)
        {
            if (value.ValueCase == AnyValue.ValueOneofCase.StringValue && value.StringValue == record)
            {
                return true;
            }
        }

        return false;
    }

    private static Candidate[] Scratch() => t_candidates ??= new Candidate[16];

    /// <summary>Drops references so the thread's scratch does not keep strings of old spans alive.</summary>
    private static void ClearScratch(Candidate[] candidates, int n) => Array.Clear(candidates, 0, n);

    private struct Candidate
    {
        public string Key;
        public bool TargetSide;
        public bool Conflicted;
        public long Count;
        public string? Text;
        public OperationKind Kind;
    }

    private sealed record MessageCandidate(ConceptKey Key, bool TargetSide, List<ChatMessage> Messages, string Display, Event? Event);

    private struct SpanState(Span span, KeyPresence presence, bool isLlm)
    {
        public Span Span { get; } = span;

        public KeyPresence Presence { get; } = presence;

        public bool IsLlm { get; } = isLlm;

        public List<string>? Conflicts { get; private set; }

        public void Record(SpanNormalizer owner, GenAiConcept concept, string chosenKey, object chosenValue, string rejectedKey, object rejectedValue)
        {
            Conflicts ??= [];
            Conflicts.Add(owner.FormatRecord(concept, chosenKey, chosenValue, rejectedKey, rejectedValue));
        }
    }
}
