using Collector.Pipeline.Secrets;

namespace Collector.Processors.Redaction;

/// <summary>
/// What redaction did: per-rule totals for the self-metrics, and the current item's masked /
/// removed keys for the summary attributes. One per thread, reused: a batch is redacted
/// synchronously, flushed, and only then handed on, so no two batches share it.
/// </summary>
internal sealed class RedactionTally
{
    [ThreadStatic]
    private static RedactionTally? t_current;

    /// <summary>Masked values per rule: detectors by enum value, then the two user rule kinds.</summary>
    public readonly long[] MaskedByRule = new long[Rules.Count];

    public long RemovedKeys;
    public long Oversized;
    public long Timeouts;

    /// <summary>Scratch for one text's candidate ranges (never shared across a recursive call).</summary>
    public readonly List<Hit> Hits = new(8);

    /// <summary>Scratch for the ranges found in a normalised or base64-decoded form of the text.</summary>
    public readonly List<Hit> DecodedHits = new(4);

    public readonly List<string> ItemMaskedKeys = new(4);
    public readonly List<string> ItemRemovedKeys = new(4);

    public int ItemMasked;

    public static RedactionTally Current => t_current ??= new RedactionTally();

    public void BeginItem()
    {
        ItemMasked = 0;
        ItemMaskedKeys.Clear();
        ItemRemovedKeys.Clear();
    }

    public void NoteMasked(string key, int count)
    {
        ItemMasked += count;
        if (!ItemMaskedKeys.Contains(key))
        {
            ItemMaskedKeys.Add(key);
        }
    }

    public void NoteRemoved(string key)
    {
        RemovedKeys++;
        ItemRemovedKeys.Add(key);
    }

    /// <summary>Adds the totals to the processor's counters (the caller then resets).</summary>
    public void FlushTo(RedactionMetrics metrics)
    {
        for (var rule = 0; rule < MaskedByRule.Length; rule++)
        {
            if (MaskedByRule[rule] > 0)
            {
                metrics.MaskedValues[rule].Add(MaskedByRule[rule]);
            }
        }

        if (RemovedKeys > 0)
        {
            metrics.RemovedKeys.Add(RemovedKeys);
        }

        if (Oversized > 0)
        {
            metrics.OversizedValues.Add(Oversized);
        }

        if (Timeouts > 0)
        {
            metrics.RegexTimeouts.Add(Timeouts);
        }
    }

    public void Reset()
    {
        Array.Clear(MaskedByRule);
        RemovedKeys = Oversized = Timeouts = 0;
        BeginItem();
    }

    /// <summary>Length of the span <see cref="SaveTo"/> needs.</summary>
    public const int SavedLength = Rules.Count + 2;

    /// <summary>Totals at a point, so that work on a JSON value that turns out not to parse can be undone.</summary>
    public void SaveTo(Span<long> saved)
    {
        MaskedByRule.CopyTo(saved);
        saved[Rules.Count] = Oversized;
        saved[Rules.Count + 1] = Timeouts;
    }

    public void RestoreFrom(ReadOnlySpan<long> saved)
    {
        saved[..Rules.Count].CopyTo(MaskedByRule);
        Oversized = saved[Rules.Count];
        Timeouts = saved[Rules.Count + 1];
    }

    /// <summary>Rule indexes beyond the built-in detectors.</summary>
    public static class Rules
    {
        public const int BlockedValues = BuiltInDetectors.Count;
        public const int BlockedKeys = BuiltInDetectors.Count + 1;
        public const int Count = BuiltInDetectors.Count + 2;

        public static string Name(int rule) => rule switch
        {
            BlockedValues => "blocked_values",
            BlockedKeys => "blocked_key_patterns",
            _ => BuiltInDetectors.Names[rule],
        };
    }
}
