using System.Globalization;
using System.Text.RegularExpressions;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Secrets;

namespace Collector.Processors.Redaction;

/// <summary>
/// Names, keys and header strings a backend stores besides attribute values; all are scanned by
/// default, and each can be left out with <c>unscanned_locations</c>.
/// </summary>
public enum RedactionLocation
{
    /// <summary>Keys of every attribute list, of nested key-value lists and of key-value log bodies.</summary>
    AttributeKeys,
    SpanName,
    SpanEventName,
    LogEventName,
    SeverityText,
    ScopeName,
    ScopeVersion,

    /// <summary>W3C trace_state of spans and of span links.</summary>
    TraceState,

    /// <summary>schema_url of resources and scopes.</summary>
    SchemaUrl,
}

public enum RedactionAction
{
    /// <summary>Replace with <c>****</c>.</summary>
    Mask,

    /// <summary>Replace with <c>hmac:</c> + 32 hex chars of HMAC-SHA256 under <c>hash_key</c>: equal inputs stay joinable.</summary>
    Hash,
}

public sealed class RedactionConfig : ComponentConfig
{
    /// <summary>Upper bound of max_json_depth: nesting is walked recursively, so the stack must stay small.</summary>
    internal const int DepthCeiling = 256;

    /// <summary>Built-in detectors to run on every string value.</summary>
    public List<RedactionDetector> Detectors { get; set; } = [];

    /// <summary>Regexes matched against attribute keys (and nested kvlist / JSON keys): the whole value is masked.</summary>
    public List<string> BlockedKeyPatterns { get; set; } = [];

    /// <summary>Regexes whose matching substrings are masked.</summary>
    public List<string> BlockedValues { get; set; } = [];

    /// <summary>Regexes exempting a would-be-masked substring (detector or blocked_values match) that they match.</summary>
    public List<string> AllowedValues { get; set; } = [];

    /// <summary>Non-empty: fail-closed, every attribute key not listed is removed.</summary>
    public List<string> AllowedKeys { get; set; } = [];

    /// <summary>Locations (names, keys, headers) left out of scanning; attribute values are always scanned.</summary>
    public List<RedactionLocation> UnscannedLocations { get; set; } = [];

    public RedactionAction Action { get; set; } = RedactionAction.Mask;

    /// <summary>HMAC key for action hash; set it from the environment. Never printed.</summary>
    [Secret]
    public string HashKey { get; set; } = string.Empty;

    /// <summary>Adds redaction.masked.* / redaction.removed.* attributes to items that were changed.</summary>
    public bool Summary { get; set; }

    /// <summary>Longer string values (UTF-8 bytes) are replaced whole by the mask, unscanned (fail-safe).</summary>
    public int MaxValueBytes { get; set; } = 1 << 20;

    /// <summary>Longer JSON-looking strings are scanned as plain text instead of parsed.</summary>
    public int MaxJsonBytes { get; set; } = 1 << 20;

    /// <summary>Deeper JSON is scanned as plain text; deeper array / kvlist attribute values are masked whole.</summary>
    public int MaxJsonDepth { get; set; } = 64;

    /// <summary>Budget of one user regex match; on timeout the value is masked whole (fail-safe).</summary>
    public TimeSpan RegexTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    public override void Validate(ConfigErrors errors)
    {
        CheckPatterns(errors, "blocked_key_patterns", BlockedKeyPatterns);
        CheckPatterns(errors, "blocked_values", BlockedValues);
        CheckPatterns(errors, "allowed_values", AllowedValues);
        for (var i = 0; i < AllowedKeys.Count; i++)
        {
            if (string.IsNullOrEmpty(AllowedKeys[i]))
            {
                errors.Add(Indexed("allowed_keys", i), "must not be empty");
            }
        }

        if (Action == RedactionAction.Hash && string.IsNullOrEmpty(HashKey))
        {
            errors.Add("hash_key", "required when action is hash (e.g. hash_key: ${env:REDACTION_HASH_KEY})");
        }

        if (MaxValueBytes <= 0)
        {
            errors.Add("max_value_bytes", "must be > 0");
        }

        if (MaxJsonBytes <= 0)
        {
            errors.Add("max_json_bytes", "must be > 0");
        }

        if (MaxJsonDepth is <= 0 or > DepthCeiling)
        {
            errors.Add("max_json_depth", $"must be in 1..{DepthCeiling}");
        }

        if (RegexTimeout <= TimeSpan.Zero)
        {
            errors.Add("regex_timeout", "must be > 0");
        }
    }

    private static void CheckPatterns(ConfigErrors errors, string key, List<string> patterns)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (string.IsNullOrEmpty(patterns[i]))
            {
                errors.Add(Indexed(key, i), "must not be empty");
                continue;
            }

            try
            {
                // Parsing is enough to find syntax errors; the processor compiles once at start.
                _ = new Regex(patterns[i], RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                errors.Add(Indexed(key, i), $"invalid regex: {e.Message}");
            }
        }
    }

    private static string Indexed(string key, int index) => $"{key}[{index.ToString(CultureInfo.InvariantCulture)}]";
}
