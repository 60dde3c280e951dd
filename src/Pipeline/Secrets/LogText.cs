using System.Text;
using System.Text.RegularExpressions;

namespace Collector.Pipeline.Secrets;

/// <summary>
/// Makes text that came from outside (a backend's error body or gRPC status detail, an exception
/// message) fit for a log line or an error text: values the caller knows to be secret (its own
/// api key, header values) and whatever the redaction processor's built-in detectors (all but
/// ipv4) find are
/// replaced by <c>****</c>, control characters become spaces (no forged log lines), and the result
/// is cut to <see cref="MaxChars"/> (senders cut a backend's detail shorter, to leave room for their own words). Masking runs before the cut, so a secret is never half shown.
/// Error path only: it allocates.
/// </summary>
internal static class LogText
{
    /// <summary>Longest text kept; enough for any backend's explanation, short enough for one log line.</summary>
    public const int MaxChars = 512;

    /// <summary>Text scanned at most (bounds the cost of a huge body; everything after it is cut anyway).</summary>
    public const int MaxScannedChars = 16 * 1024;

    /// <summary>Known secrets shorter than this are not searched for: "a" would mask every "a".</summary>
    public const int MinKnownSecretChars = 6;

    public const string Mask = "****";

    private const string Truncated = "...(truncated)";

    /// <summary>
    /// Every built-in detector except ipv4: an address in a connection error is the configured
    /// endpoint, which a person needs to see to fix it, not a secret.
    /// </summary>
    private static readonly RedactionDetector[] Detectors = Array.FindAll(Enum.GetValues<RedactionDetector>(), d => d != RedactionDetector.Ipv4);

    /// <summary>Masked, single-line and at most <paramref name="maxChars"/> (plus a truncation marker) long; null stays null.</summary>
    public static string? Scrub(string? text, IReadOnlyList<string>? knownSecrets = null, int maxChars = MaxChars)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        var cut = text.Length > MaxScannedChars;
        var working = cut ? text[..MaxScannedChars] : text;
        if (knownSecrets is not null)
        {
            foreach (var secret in knownSecrets)
            {
                if (secret.Length >= MinKnownSecretChars)
                {
                    working = working.Replace(secret, Mask, StringComparison.Ordinal);
                }
            }
        }

        string masked;
        try
        {
            masked = MaskDetected(working);
        }
        catch (RegexMatchTimeoutException)
        {
            return "(text withheld: the secret scan timed out)";
        }

        cut |= masked.Length > maxChars;
        var kept = masked.AsSpan(0, Math.Min(masked.Length, maxChars));
        var result = new StringBuilder(kept.Length + Truncated.Length);
        foreach (var c in kept)
        {
            result.Append(char.IsControl(c) ? ' ' : c);
        }

        return cut ? result.Append(Truncated).ToString() : result.ToString();
    }

    /// <summary>
    /// The secrets a component's own settings hold, as they may come back in an answer: each value
    /// whole and, for a "scheme credential" value ("Bearer abc", "Basic abc"), the credential alone.
    /// </summary>
    public static string[] KnownSecrets(IEnumerable<string?> values)
    {
        var secrets = new List<string>();
        foreach (var value in values)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }

            var trimmed = value.Trim();
            AddIfLongEnough(secrets, trimmed);
            var space = trimmed.LastIndexOf(' ');
            if (space > 0)
            {
                AddIfLongEnough(secrets, trimmed[(space + 1)..]);
            }
        }

        // Longest first: a token inside a longer value must not split the longer one's mask.
        secrets.Sort((a, b) => b.Length.CompareTo(a.Length));
        return [.. secrets];
    }

    private static void AddIfLongEnough(List<string> secrets, string secret)
    {
        if (secret.Length >= MinKnownSecretChars)
        {
            secrets.Add(secret);
        }
    }

    private static string MaskDetected(string text)
    {
        var hits = new List<Hit>();
        var digits = new BuiltInDetectors.DigitShape(text);
        foreach (var detector in Detectors)
        {
            BuiltInDetectors.Find(detector, text, in digits, hits);
        }

        if (hits.Count == 0)
        {
            return text;
        }

        Hit.SortAndMerge(hits);
        var result = new StringBuilder(text.Length);
        var position = 0;
        foreach (var hit in hits)
        {
            result.Append(text, position, hit.Start - position).Append(Mask);
            position = hit.End;
        }

        return result.Append(text, position, text.Length - position).ToString();
    }
}
