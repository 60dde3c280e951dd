using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Collector.Pipeline.Secrets;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using Rules = Collector.Processors.Redaction.RedactionTally.Rules;

namespace Collector.Processors.Redaction;

/// <summary>
/// The compiled rules of one redaction instance and the code that applies them to attribute
/// lists, values and strings. Built once per component id and shared by every pipeline that
/// lists it (thread-safe: all mutable state is in the caller's <see cref="RedactionTally"/>).
/// A string with nothing to redact is left as is and costs no allocation.
/// </summary>
internal sealed partial class Redactor
{
    public const string Mask = "****";

    /// <summary>Keys that fail-closed mode never removes: the service identity every backend needs, and this processor's own summary.</summary>
    public static readonly string[] AlwaysKeptKeys =
        ["service.name", SummaryKeys.MaskedCount, SummaryKeys.MaskedKeys, SummaryKeys.RemovedCount, SummaryKeys.RemovedKeys];

    /// <summary>Distinct attribute keys whose block verdict is remembered (keys are low-cardinality names).</summary>
    private const int MaxCachedKeys = 4096;

    private readonly RedactionDetector[] _detectors;
    private readonly bool _countDigits;
    private readonly bool _cards;

    /// <summary>The detectors of credentials, whose forms are also looked for inside base64 runs.</summary>
    private readonly RedactionDetector[] _keyDetectors;
    private readonly Regex[] _blockedKeys;
    private readonly Regex[] _blockedValues;
    private readonly Regex[] _allowedValues;
    private readonly FrozenSet<string>? _allowedKeys;
    private readonly byte[]? _hashKey;
    private readonly int _maxValueBytes;
    private readonly int _maxJsonBytes;
    private readonly int _maxDepth;

    /// <summary>Bit per <see cref="RedactionLocation"/> left out by unscanned_locations.</summary>
    private readonly int _unscanned;
    private readonly ConcurrentDictionary<string, bool> _keyVerdicts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool>.AlternateLookup<ReadOnlySpan<char>> _keyVerdictsBySpan;
    private int _cachedKeys;

    public Redactor(RedactionConfig config)
    {
        _detectors = [.. config.Detectors.Distinct()];
        _countDigits = Array.Exists(_detectors, BuiltInDetectors.UsesDigits);
        _cards = _detectors.Contains(RedactionDetector.CreditCard);
        _keyDetectors = [.. _detectors.Where(d => d is RedactionDetector.ApiKey or RedactionDetector.BearerToken or RedactionDetector.Jwt)];
        _blockedKeys = Compile(config.BlockedKeyPatterns, config.RegexTimeout);
        _blockedValues = Compile(config.BlockedValues, config.RegexTimeout);
        _allowedValues = Compile(config.AllowedValues, config.RegexTimeout);
        _allowedKeys = config.AllowedKeys.Count == 0 ? null : config.AllowedKeys.Concat(AlwaysKeptKeys).ToFrozenSet(StringComparer.Ordinal);
        _hashKey = config.Action == RedactionAction.Hash ? Encoding.UTF8.GetBytes(config.HashKey) : null;
        _maxValueBytes = config.MaxValueBytes;
        _maxJsonBytes = config.MaxJsonBytes;
        _maxDepth = config.MaxJsonDepth;
        Summary = config.Summary;
        foreach (var location in config.UnscannedLocations)
        {
            _unscanned |= 1 << (int)location;
        }

        _keyVerdictsBySpan = _keyVerdicts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool Summary { get; }

    /// <summary>
    /// Applies allowed_keys (removal), blocked_key_patterns (whole value) and value rules to every
    /// attribute of the list, in place; notes masked and removed keys on the tally's current item.
    /// </summary>
    public void RedactAttributes(RepeatedField<KeyValue> attributes, RedactionTally tally)
    {
        var kept = 0;
        var scanKeys = Scans(RedactionLocation.AttributeKeys);
        for (var i = 0; i < attributes.Count; i++)
        {
            var attribute = attributes[i];
            if (_allowedKeys is not null && !_allowedKeys.Contains(attribute.Key))
            {
                // The summary is stored by the backend too: a key carrying a secret is listed masked.
                tally.NoteRemoved(Summary ? SafeName(attribute.Key, tally) : attribute.Key);
                continue;
            }

            var masked = 0;
            if (attribute.Value is { } value)
            {
                masked = IsBlockedKey(attribute.Key, tally) ? MaskWhole(value, tally) : RedactValue(value, 1, tally);
            }

            if (scanKeys && RedactName(attribute.Key, tally, ref masked) is { } safeKey)
            {
                attribute.Key = safeKey;
            }

            if (masked > 0)
            {
                tally.NoteMasked(attribute.Key, masked);
            }

            if (kept != i)
            {
                attributes[kept] = attribute;
            }

            kept++;
        }

        for (var i = attributes.Count - 1; i >= kept; i--)
        {
            attributes.RemoveAt(i);
        }
    }

    /// <summary>False when unscanned_locations leaves <paramref name="location"/> out.</summary>
    public bool Scans(RedactionLocation location) => (_unscanned & (1 << (int)location)) == 0;

    /// <summary><paramref name="name"/> as it may be written to the backend: with what the value rules find masked.</summary>
    private string SafeName(string name, RedactionTally tally)
    {
        var masked = 0;
        return RedactName(name, tally, ref masked) ?? name;
    }

    /// <summary>Redacts a value of any type in place; returns how many values or substrings were masked.</summary>
    public int RedactValue(AnyValue value, int depth, RedactionTally tally)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                var masked = 0;
                if (RedactString(value.StringValue, tally, ref masked) is { } redacted)
                {
                    value.StringValue = redacted;
                }

                return masked;
            case AnyValue.ValueOneofCase.IntValue when _cards:
                return RedactInteger(value, tally);
            case AnyValue.ValueOneofCase.ArrayValue when depth >= _maxDepth:
            case AnyValue.ValueOneofCase.KvlistValue when depth >= _maxDepth:
                // Too deep to walk: fail-safe, nothing unscanned leaves.
                value.StringValue = Mask;
                tally.Oversized++;
                return 1;
            case AnyValue.ValueOneofCase.ArrayValue:
                var total = 0;
                var items = value.ArrayValue.Values;
                for (var i = 0; i < items.Count; i++)
                {
                    total += RedactValue(items[i], depth + 1, tally);
                }

                return total;
            case AnyValue.ValueOneofCase.KvlistValue:
                total = 0;
                var entries = value.KvlistValue.Values;
                for (var i = 0; i < entries.Count; i++)
                {
                    var entry = entries[i];
                    if (entry.Value is { } nested)
                    {
                        total += IsBlockedKey(entry.Key, tally) ? MaskWhole(nested, tally) : RedactValue(nested, depth + 1, tally);
                    }

                    if (Scans(RedactionLocation.AttributeKeys) && RedactName(entry.Key, tally, ref total) is { } safeKey)
                    {
                        entry.Key = safeKey;
                    }
                }

                return total;
            default:
                return 0;
        }
    }

    /// <summary>The redacted form of <paramref name="value"/>, or null when nothing in it needs masking.</summary>
    public string? RedactString(string value, RedactionTally tally, ref int masked) => RedactBounded(value, _maxDepth, tally, ref masked);

    /// <summary>
    /// A name, key or header string (never parsed as JSON: not a document) with the value rules
    /// applied, or null when it is clean. An oversized one is masked whole, as values are.
    /// </summary>
    public string? RedactName(string name, RedactionTally tally, ref int masked) => RedactBounded(name, 0, tally, ref masked);

    private string? RedactBounded(string value, int jsonDepthBudget, RedactionTally tally, ref int masked)
    {
        if (value.Length == 0)
        {
            return null;
        }

        if (IsOversized(value))
        {
            tally.Oversized++;
            masked++;
            return Mask;
        }

        return RedactText(value, jsonDepthBudget, tally, ref masked);
    }

    private bool IsOversized(string value) =>
        value.Length > _maxValueBytes
        || (value.Length * 3L > _maxValueBytes && Encoding.UTF8.GetByteCount(value) > _maxValueBytes);

    private string? RedactText(ReadOnlySpan<char> text, int jsonDepthBudget, RedactionTally tally, ref int masked)
    {
        if (jsonDepthBudget > 0 && LooksLikeJson(text))
        {
            var fromJson = RedactJson(text, jsonDepthBudget, tally, ref masked, out var parsed);
            if (parsed)
            {
                return fromJson;
            }
        }

        return RedactPlain(text, digitsOnly: false, tally, ref masked);
    }

    /// <summary>
    /// Detectors (behind their pre-filters) and blocked_values find candidate ranges; allowed_values
    /// exempt some; the rest are replaced. <paramref name="digitsOnly"/> runs only the card
    /// detector (for integers). A regex timeout masks the whole text.
    /// </summary>
    private string? RedactPlain(ReadOnlySpan<char> text, bool digitsOnly, RedactionTally tally, ref int masked)
    {
        var hits = tally.Hits;
        hits.Clear();
        try
        {
            FindHits(text, digitsOnly, hits);
            if (!digitsOnly)
            {
                FindEvasions(text, tally);
            }
        }
        catch (RegexMatchTimeoutException)
        {
            hits.Clear();
            tally.Timeouts++;
            masked++;
            return Mask;
        }

        if (hits.Count == 0)
        {
            return null;
        }

        var result = Replace(text, hits, tally, ref masked);
        hits.Clear();
        return result;
    }

    /// <summary>
    /// Adds the ranges the detectors (behind their pre-filters) and blocked_values find, less those
    /// allowed_values exempt. <paramref name="digitsOnly"/> runs only the card detector (for integers).
    /// </summary>
    private void FindHits(ReadOnlySpan<char> text, bool digitsOnly, List<Hit> hits)
    {
        var first = hits.Count;
        var digits = _countDigits ? new BuiltInDetectors.DigitShape(text) : default;
        foreach (var detector in _detectors)
        {
            if (!digitsOnly || detector == RedactionDetector.CreditCard)
            {
                BuiltInDetectors.Find(detector, text, in digits, hits);
            }
        }

        if (!digitsOnly)
        {
            foreach (var regex in _blockedValues)
            {
                foreach (var m in regex.EnumerateMatches(text))
                {
                    if (m.Length > 0)
                    {
                        hits.Add(new Hit(m.Index, m.Length, Rules.BlockedValues));
                    }
                }
            }
        }

        if (hits.Count > first && _allowedValues.Length > 0)
        {
            RemoveAllowed(text, hits, first);
        }
    }

    private void RemoveAllowed(ReadOnlySpan<char> text, List<Hit> hits, int first)
    {
        var kept = first;
        for (var i = first; i < hits.Count; i++)
        {
            var candidate = text.Slice(hits[i].Start, hits[i].Length);
            var allowed = false;
            foreach (var regex in _allowedValues)
            {
                if (regex.IsMatch(candidate))
                {
                    allowed = true;
                    break;
                }
            }

            if (!allowed)
            {
                hits[kept++] = hits[i];
            }
        }

        hits.RemoveRange(kept, hits.Count - kept);
    }

    /// <summary>Replaces the union of the hit ranges; overlapping hits (a JWT after "Bearer") count once.</summary>
    private string Replace(ReadOnlySpan<char> text, List<Hit> hits, RedactionTally tally, ref int masked)
    {
        Hit.SortAndMerge(hits);
        var output = new StringBuilder(text.Length);
        var position = 0;
        foreach (var hit in hits)
        {
            output.Append(text[position..hit.Start]).Append(Replacement(text[hit.Start..hit.End]));
            position = hit.End;
            tally.MaskedByRule[hit.Rule]++;
            masked++;
        }

        return output.Append(text[position..]).ToString();
    }

    /// <summary>A long integer attribute can carry a card number: scanned by the card detector only.</summary>
    private int RedactInteger(AnyValue value, RedactionTally tally)
    {
        Span<char> digits = stackalloc char[24];
        if (!value.IntValue.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture) || length < 13)
        {
            return 0;
        }

        var masked = 0;
        if (RedactPlain(digits[..length], digitsOnly: true, tally, ref masked) is { } redacted)
        {
            value.StringValue = redacted;
        }

        return masked;
    }

    /// <summary>A blocked key: the whole value, of any type, becomes the mask (or its hash).</summary>
    private int MaskWhole(AnyValue value, RedactionTally tally)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.None:
                return 0;
            case AnyValue.ValueOneofCase.StringValue when IsOversized(value.StringValue):
                tally.Oversized++;
                value.StringValue = Mask;
                return 1;
            case AnyValue.ValueOneofCase.StringValue:
                value.StringValue = Replacement(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                value.StringValue = _hashKey is null ? Mask : HashOf(value.BytesValue.Span);
                break;
            default:
                value.StringValue = _hashKey is null ? Mask : HashOf(value.ToByteArray());
                break;
        }

        tally.MaskedByRule[Rules.BlockedKeys]++;
        return 1;
    }

    private bool IsBlockedKey(ReadOnlySpan<char> key, RedactionTally tally)
    {
        if (_blockedKeys.Length == 0)
        {
            return false;
        }

        if (_keyVerdictsBySpan.TryGetValue(key, out var blocked))
        {
            return blocked;
        }

        try
        {
            foreach (var regex in _blockedKeys)
            {
                if (regex.IsMatch(key))
                {
                    blocked = true;
                    break;
                }
            }
        }
        catch (RegexMatchTimeoutException)
        {
            tally.Timeouts++;
            return true;
        }

        if (Volatile.Read(ref _cachedKeys) < MaxCachedKeys && _keyVerdictsBySpan.TryAdd(key, blocked))
        {
            Interlocked.Increment(ref _cachedKeys);
        }

        return blocked;
    }

    /// <summary>The mask, or with action hash "hmac:" + the first 128 bits of HMAC-SHA256(key, UTF-8 text) in hex.</summary>
    private string Replacement(ReadOnlySpan<char> original)
    {
        if (_hashKey is null)
        {
            return Mask;
        }

        var max = Encoding.UTF8.GetMaxByteCount(original.Length);
        byte[]? rented = null;
        var bytes = max <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            return HashOf(bytes[..Encoding.UTF8.GetBytes(original, bytes)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// 128 of the 256 bits: RFC 2104 recommends keeping at least half the hash length; that keeps
    /// collisions out of reach for joining while staying short inside prompts.
    /// </summary>
    private string HashOf(ReadOnlySpan<byte> data)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_hashKey, data, mac);
        Span<char> text = stackalloc char[5 + 32];
        "hmac:".CopyTo(text);
        Convert.TryToHexStringLower(mac[..16], text[5..], out _);
        return new string(text);
    }

    private static Regex[] Compile(List<string> patterns, TimeSpan timeout) =>
        [.. patterns.Select(p => new Regex(p, RegexOptions.Compiled | RegexOptions.CultureInvariant, timeout))];
}

/// <summary>Attributes added to an item that redaction changed, when <c>summary</c> is on.</summary>
internal static class SummaryKeys
{
    public const string MaskedCount = "redaction.masked.count";
    public const string MaskedKeys = "redaction.masked.keys";
    public const string RemovedCount = "redaction.removed.count";
    public const string RemovedKeys = "redaction.removed.keys";
}
