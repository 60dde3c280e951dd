using System.Buffers;
using System.Text.RegularExpressions;

namespace Collector.Pipeline.Secrets;

/// <summary>A range of a text to mask and the rule that found it (a <see cref="RedactionDetector"/> or a user rule).</summary>
internal readonly record struct Hit(int Start, int Length, int Rule)
{
    private static readonly Comparison<Hit> ByStartLongestFirst = static (x, y) => x.Start != y.Start ? x.Start.CompareTo(y.Start) : y.Length.CompareTo(x.Length);

    public int End => Start + Length;

    /// <summary>
    /// Sorts <paramref name="hits"/> and merges overlapping ones in place into disjoint ranges, in text
    /// order; each merged range keeps the rule of its first (longest at that start) hit. The redaction
    /// processor and <see cref="LogText"/> both mask the union of what the detectors found.
    /// </summary>
    public static void SortAndMerge(List<Hit> hits)
    {
        hits.Sort(ByStartLongestFirst);
        var kept = 0;
        for (var i = 0; i < hits.Count; i++)
        {
            var hit = hits[i];
            if (kept > 0 && hit.Start < hits[kept - 1].End)
            {
                var last = hits[kept - 1];
                hits[kept - 1] = last with { Length = Math.Max(last.End, hit.End) - last.Start };
                continue;
            }

            hits[kept++] = hit;
        }

        hits.RemoveRange(kept, hits.Count - kept);
    }
}

/// <summary>
/// The built-in detectors: a cheap pre-filter that keeps clean text off the regex path, a
/// source-generated regex that finds candidates, and a check that turns a candidate into the
/// ranges to mask (Luhn for cards, digit counts for phones, the token part of "Bearer x").
/// Regexes start at a boundary (lookbehind) or an anchor (e-mail: each "@") and use atomic
/// groups where backtracking could grow, so matching is linear in the text length.
/// </summary>
internal static partial class BuiltInDetectors
{
    public const int Count = 7;

    /// <summary>Safety net only: the patterns are linear, a timeout means a starved process.</summary>
    private const int TimeoutMs = 1000;

    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    private static readonly SearchValues<char> LocalPart = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-");

    private static readonly SearchValues<string> ApiKeyPrefixes = SearchValues.Create(
        ["sk-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        StringComparison.Ordinal);

    private static readonly SearchValues<string> BearerScheme = SearchValues.Create(["bearer"], StringComparison.OrdinalIgnoreCase);

    /// <summary>Names as written in YAML and in the rule label of the masked-values metric.</summary>
    public static readonly string[] Names = ["email", "credit_card", "phone", "ipv4", "api_key", "bearer_token", "jwt"];

    public static bool UsesDigits(RedactionDetector detector) =>
        detector is RedactionDetector.CreditCard or RedactionDetector.Phone or RedactionDetector.Ipv4;

    /// <summary>
    /// Adds the ranges of <paramref name="text"/> this detector masks. The pre-filter in each
    /// case keeps clean text off the regex path.
    /// </summary>
    public static void Find(RedactionDetector detector, ReadOnlySpan<char> text, in DigitShape digits, List<Hit> hits)
    {
        var rule = (int)detector;
        switch (detector)
        {
            case RedactionDetector.Email:
                FindEmails(text, hits);
                break;
            case RedactionDetector.CreditCard when digits.Count >= 13:
                foreach (var m in DigitGroups().EnumerateMatches(text))
                {
                    CollectCards(text, m.Index, m.Length, hits);
                }

                break;
            // Every phone alternative has "+digit", "(digit" or digit-separator-digit; a bare run never matches.
            case RedactionDetector.Phone when digits.Count >= 7 && (digits.Grouped || digits.Prefixed):
                foreach (var m in Phone().EnumerateMatches(text))
                {
                    if (CountDigits(text.Slice(m.Index, m.Length)) is >= 7 and <= 17)
                    {
                        hits.Add(new Hit(m.Index, m.Length, rule));
                    }
                }

                break;
            case RedactionDetector.Ipv4 when digits.DottedPairs >= 3:
                AddAll(Ipv4(), text, rule, hits);
                break;
            case RedactionDetector.ApiKey when text.IndexOfAny(ApiKeyPrefixes) >= 0:
                AddAll(ApiKey(), text, rule, hits);
                break;
            case RedactionDetector.BearerToken when text.IndexOfAny(BearerScheme) >= 0:
                foreach (var m in Bearer().EnumerateMatches(text))
                {
                    // Keep the scheme readable: "Bearer ****".
                    var token = "bearer".Length;
                    while (text[m.Index + token] is ' ' or '\t')
                    {
                        token++;
                    }

                    hits.Add(new Hit(m.Index + token, m.Length - token, rule));
                }

                break;
            case RedactionDetector.Jwt when text.Contains("eyJ", StringComparison.Ordinal):
                AddAll(Jwt(), text, rule, hits);
                break;
        }
    }

    private static void AddAll(Regex regex, ReadOnlySpan<char> text, int rule, List<Hit> hits)
    {
        foreach (var m in regex.EnumerateMatches(text))
        {
            hits.Add(new Hit(m.Index, m.Length, rule));
        }
    }

    private static int CountDigits(ReadOnlySpan<char> text)
    {
        var count = 0;
        foreach (var c in text)
        {
            count += char.IsAsciiDigit(c) ? 1 : 0;
        }

        return count;
    }

    /// <summary>
    /// Anchored on each "@" (a regex over the whole text would try every word as a local part):
    /// the local part is read backwards (1-64 characters, starting after a non-local character),
    /// the domain forwards by a regex anchored right after the "@".
    /// </summary>
    private static void FindEmails(ReadOnlySpan<char> text, List<Hit> hits)
    {
        for (var at = text.IndexOf('@'); at >= 0; at = NextAt(text, at))
        {
            var local = 0;
            while (local <= 64 && at - local > 0 && LocalPart.Contains(text[at - local - 1]))
            {
                local++;
            }

            if (local is 0 or > 64)
            {
                continue;
            }

            foreach (var m in EmailDomain().EnumerateMatches(text, at + 1))
            {
                if (!IsImageFileName(text.Slice(m.Index, m.Length)))
                {
                    hits.Add(new Hit(at - local, m.Index + m.Length - at + local, (int)RedactionDetector.Email));
                }

                break;
            }
        }
    }

    private static int NextAt(ReadOnlySpan<char> text, int at)
    {
        var next = text[(at + 1)..].IndexOf('@');
        return next < 0 ? -1 : at + 1 + next;
    }

    /// <summary>What the digit-based pre-filters need, from one pass over the digits of a text.</summary>
    public readonly struct DigitShape
    {
        /// <summary>Digits in the text (the scan stops once every pre-filter would pass).</summary>
        public readonly int Count;

        /// <summary>A digit, one of " .-", a digit: "415-555", "4111 1111", "1.2".</summary>
        public readonly bool Grouped;

        /// <summary>A digit after "+" or "(".</summary>
        public readonly bool Prefixed;

        /// <summary>Occurrences of digit "." digit (a dotted quad has three).</summary>
        public readonly int DottedPairs;

        public DigitShape(ReadOnlySpan<char> text)
        {
            var i = text.IndexOfAny(Digits);
            while (i >= 0)
            {
                // One run of digits; only its last digit can be followed by a separator.
                Prefixed |= i > 0 && text[i - 1] is '+' or '(';
                var end = i;
                while (end < text.Length && char.IsAsciiDigit(text[end]))
                {
                    end++;
                }

                Count += end - i;
                if (end + 1 < text.Length && text[end] is ' ' or '.' or '-' && char.IsAsciiDigit(text[end + 1]))
                {
                    Grouped = true;
                    DottedPairs += text[end] == '.' ? 1 : 0;
                }

                if (end + 1 >= text.Length || (Count >= 13 && Prefixed && DottedPairs >= 3))
                {
                    break;
                }

                var next = text[(end + 1)..].IndexOfAny(Digits);
                i = next < 0 ? -1 : end + 1 + next;
            }
        }
    }

    /// <summary>"icon@2x.png" has an address shape; image names are its common false positive.</summary>
    private static bool IsImageFileName(ReadOnlySpan<char> match)
    {
        var tld = match[(match.LastIndexOf('.') + 1)..];
        return tld.Equals("png", StringComparison.OrdinalIgnoreCase) || tld.Equals("jpg", StringComparison.OrdinalIgnoreCase)
            || tld.Equals("jpeg", StringComparison.OrdinalIgnoreCase) || tld.Equals("gif", StringComparison.OrdinalIgnoreCase)
            || tld.Equals("svg", StringComparison.OrdinalIgnoreCase) || tld.Equals("webp", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A match is a run of digit groups separated by single spaces or dashes. Every window of
    /// whole groups with 13-19 digits, a leading 2-6 (card networks; excludes epoch timestamps)
    /// and a valid Luhn sum is a card; per start group the longest is masked. Trying every
    /// window catches a card glued to a CVV or expiry ("4111 1111 1111 1111 123"). Luhn sums
    /// are kept for both parities while the window grows, so each window costs O(1).
    /// </summary>
    private static void CollectCards(ReadOnlySpan<char> text, int index, int length, List<Hit> hits)
    {
        var end = index + length;
        for (var start = index; start < end; start = NextGroup(text, start, end))
        {
            if (text[start] is < '2' or > '6')
            {
                continue;
            }

            int digits = 0, sumEvenDoubled = 0, sumOddDoubled = 0, best = -1;
            for (var i = start; i < end; i++)
            {
                var c = text[i];
                if (!char.IsAsciiDigit(c))
                {
                    continue;
                }

                var d = c - '0';
                var doubled = d * 2 > 9 ? (d * 2) - 9 : d * 2;
                // Position counted from the left; which positions Luhn doubles depends on the final length.
                sumEvenDoubled += digits % 2 == 0 ? doubled : d;
                sumOddDoubled += digits % 2 == 0 ? d : doubled;
                digits++;
                if (digits > 19)
                {
                    break;
                }

                var groupEnds = i + 1 == end || !char.IsAsciiDigit(text[i + 1]);
                if (groupEnds && digits >= 13 && (digits % 2 == 0 ? sumEvenDoubled : sumOddDoubled) % 10 == 0)
                {
                    best = i + 1;
                }
            }

            if (best > 0)
            {
                hits.Add(new Hit(start, best - start, (int)RedactionDetector.CreditCard));
            }
        }
    }

    private static int NextGroup(ReadOnlySpan<char> text, int position, int end)
    {
        while (position < end && char.IsAsciiDigit(text[position]))
        {
            position++;
        }

        return position + 1;
    }

    [GeneratedRegex(@"\G(?:(?>[A-Za-z0-9][A-Za-z0-9-]{0,62})\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex EmailDomain();

    // \d rather than [0-9] where a pattern starts with a digit: the generated search for [0-9]
    // calls IndexOfAnyInRange, which allocates on every call on .NET 10 (checked by the
    // allocation test); non-ASCII digits are then skipped by the checks in code.
    [GeneratedRegex(@"(?<![\d.])\d+(?:[ -]\d+)*", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex DigitGroups();

    // +E.164 with optional separators and "(0)"; NANP "(415) 555-2671", "415-555-2671", "1-800-555-0199";
    // trunk-0 national "020 7946 0958", "06 12 34 56 78". A bare digit run never matches.
    [GeneratedRegex(@"(?<![\w+.-])(?:\+[1-9](?:[ .-]?(?:\d|\(\d{1,4}\))){6,16}|(?:1[ .-])?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|(?:1[ .-])?\d{3}([ .-])\d{3}\1\d{4}|0\d{1,4}[ -]\d{3,4}[ -]\d{3,4}|0[1-9](?:[ .]\d{2}){4})(?!\w|[.-]\d)", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Phone();

    // Not inside a longer dotted sequence (1.2.3.4.5), not after a word character (v1.2.3.4); a sentence's final dot is fine.
    [GeneratedRegex(@"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\d|\.\d)", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Ipv4();

    // OpenAI sk-/sk-proj-, Anthropic sk-ant-, AWS access key ids, GitHub tokens. Generic sk- needs 20+
    // alphanumerics right after it and no word character before, so "task-list" and "sk-learn-..." stay.
    [GeneratedRegex(@"(?<![A-Za-z0-9_])(?:sk-(?:proj|ant|svcacct|admin)-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex ApiKey();

    [GeneratedRegex(@"\b(?i:bearer)[ \t]+[A-Za-z0-9._~+/=-]{8,}", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Bearer();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Jwt();
}
