using System.Collections.Frozen;
using Collector.GenAi;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.ConflictResolution;

/// <summary>
/// Which concept keys a span carries, found in one pass over its attributes and events, so that
/// the rules look up only keys that are there and skip concepts with nothing to resolve.
/// Concepts own disjoint keys, so the picture stays true while earlier concepts are rewritten.
/// </summary>
internal readonly struct KeyPresence
{
    private static readonly FrozenDictionary<string, int> Ordinals = BuildOrdinals();

    private static readonly IndexedMessageForm[] IndexedForms =
    [
        IndexedMessageForm.OpenLlmetryPrompt, IndexedMessageForm.OpenLlmetryCompletion,
        IndexedMessageForm.OpenInferenceInput, IndexedMessageForm.OpenInferenceOutput,
    ];

    private readonly ulong _keys;
    private readonly int _indexed;
    private readonly bool _promptEvent;
    private readonly bool _completionEvent;

    private KeyPresence(ulong keys, int indexed, bool promptEvent, bool completionEvent, bool any)
    {
        _keys = keys;
        _indexed = indexed;
        _promptEvent = promptEvent;
        _completionEvent = completionEvent;
        Any = any;
    }

    /// <summary>True when the span has any GenAI key or Langtrace prompt / completion event.</summary>
    public bool Any { get; }

    public static KeyPresence Scan(Span span)
    {
        ulong keys = 0;
        var indexed = 0;
        var any = false;
        var attributes = span.Attributes;
        for (var i = 0; i < attributes.Count; i++)
        {
            var key = attributes[i].Key;
            if (!GenAiConventions.IsGenAiKey(key))
            {
                continue;
            }

            any = true;
            if (Ordinals.TryGetValue(key, out var ordinal))
            {
                keys |= 1UL << ordinal;
                continue;
            }

            for (var f = 0; f < IndexedForms.Length; f++)
            {
                if (key.StartsWith(IndexedForms[f].Prefix, StringComparison.Ordinal))
                {
                    indexed |= 1 << f;
                }
            }
        }

        bool promptEvent = false, completionEvent = false;
        var events = span.Events;
        for (var i = 0; i < events.Count; i++)
        {
            promptEvent |= events[i].Name == GenAiConventions.LangtracePromptEvent;
            completionEvent |= events[i].Name == GenAiConventions.LangtraceCompletionEvent;
        }

        return new KeyPresence(keys, indexed, promptEvent, completionEvent, any || promptEvent || completionEvent);
    }

    /// <summary>True when the span has attribute <paramref name="key"/> (one of the concept keys).</summary>
    public bool Has(string key) => Ordinals.TryGetValue(key, out var ordinal) && (_keys & (1UL << ordinal)) != 0;

    /// <summary>
    /// True when the span may carry <paramref name="key"/>: exact for attributes and events; for
    /// indexed messages a key with the prefix was seen (the form's own parser decides the rest).
    /// </summary>
    public bool Has(ConceptKey key) => key.Form switch
    {
        ConceptKeyForm.Attribute => Has(key.Key),
        ConceptKeyForm.SpanEvent => key.Key == GenAiConventions.LangtracePromptEvent ? _promptEvent : _completionEvent,
        _ => (_indexed & (1 << Array.IndexOf(IndexedForms, IndexedMessageForm.For(key)))) != 0,
    };

    private static FrozenDictionary<string, int> BuildOrdinals()
    {
        var ordinals = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var descriptor in GenAiConventions.Concepts)
        {
            foreach (var key in descriptor.Keys)
            {
                if (key.Form == ConceptKeyForm.Attribute)
                {
                    ordinals.TryAdd(key.Key, ordinals.Count);
                }
            }
        }

        if (ordinals.Count > 64)
        {
            throw new InvalidOperationException("more concept keys than presence bits");
        }

        return ordinals.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
