using System.Buffers;
using System.Text.RegularExpressions;

namespace Collector.Processors.Redaction;

/// <summary>A range of a text to mask and the rule that found it (a <see cref="RedactionDetector"/> or a user rule).</summary>
internal readonly record struct Hit(int Start, int Length, int Rule)
{
    public int End => Start + Length;
}

/// <summary>
/// The built-in detectors: a cheap pre-filter that keeps clean text off the regex path, a
/// source-generated regex that finds candidates, and a check that turns a candidate into the
/// ranges to mask (Luhn for cards, digit counts for phones, the token part of "Bearer x").
/// Every regex starts at a boundary (lookbehind) and uses atomic groups where backtracking
/// could grow, so matching is linear in the text length.
/// </summary>
internal static partial class BuiltInDetectors
{
    public const int Count = 7;

    /// <summary>Safety net only: the patterns are linear, a timeout means a starved process.</summary>
    private const int TimeoutMs = 1000;

    /// <summary>Digits needed before any digit-based detector can match (credit cards need 13).</summary>
    public const int DigitsWorthCounting = 13;

    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    private static readonly SearchValues<string> ApiKeyPrefixes = SearchValues.Create(
        ["sk-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        StringComparison.Ordinal);

    /// <summary>Names as written in YAML and in the rule label of the masked-values metric.</summary>
    public static readonly string[] Names = ["email", "credit_card", "phone", "ipv4", "api_key", "bearer_token", "jwt"];

    public static bool UsesDigits(RedactionDetector detector) =>
        detector is RedactionDetector.CreditCard or RedactionDetector.Phone or RedactionDetector.Ipv4;

    /// <summary>Digits in <paramref name="text"/>, counting stops at <see cref="DigitsWorthCounting"/>.</summary>
    public static int CountDigits(ReadOnlySpan<char> text)
    {
        var count = 0;
        var i = text.IndexOfAny(Digits);
        while (i >= 0 && ++count < DigitsWorthCounting)
        {
            text = text[(i + 1)..];
            i = text.IndexOfAny(Digits);
        }

        return count;
    }

    /// <summary>False when the detector cannot match: the regex is skipped.</summary>
    public static bool MayMatch(RedactionDetector detector, ReadOnlySpan<char> text, int digits) => detector switch
    {
        RedactionDetector.Email => text.Contains('@'),
        RedactionDetector.CreditCard => digits >= 13,
        RedactionDetector.Phone => digits >= 7,
        RedactionDetector.Ipv4 => digits >= 4 && text.Contains('.'),
        RedactionDetector.ApiKey => text.IndexOfAny(ApiKeyPrefixes) >= 0,
        RedactionDetector.BearerToken => text.Contains("bearer", StringComparison.OrdinalIgnoreCase),
        RedactionDetector.Jwt => text.Contains("eyJ", StringComparison.Ordinal),
        _ => false,
    };

    public static Regex RegexOf(RedactionDetector detector) => detector switch
    {
        RedactionDetector.Email => Email(),
        RedactionDetector.CreditCard => DigitGroups(),
        RedactionDetector.Phone => Phone(),
        RedactionDetector.Ipv4 => Ipv4(),
        RedactionDetector.ApiKey => ApiKey(),
        RedactionDetector.BearerToken => Bearer(),
        RedactionDetector.Jwt => Jwt(),
        _ => throw new ArgumentOutOfRangeException(nameof(detector)),
    };

    /// <summary>Adds the ranges to mask inside one regex match.</summary>
    public static void Collect(RedactionDetector detector, ReadOnlySpan<char> text, int index, int length, List<Hit> hits)
    {
        var rule = (int)detector;
        var match = text.Slice(index, length);
        switch (detector)
        {
            case RedactionDetector.CreditCard:
                CollectCards(text, index, length, hits);
                break;
            case RedactionDetector.Phone:
                var digits = 0;
                foreach (var c in match)
                {
                    digits += char.IsAsciiDigit(c) ? 1 : 0;
                }

                if (digits is >= 7 and <= 17)
                {
                    hits.Add(new Hit(index, length, rule));
                }

                break;
            case RedactionDetector.Email:
                if (!IsImageFileName(match))
                {
                    hits.Add(new Hit(index, length, rule));
                }

                break;
            case RedactionDetector.BearerToken:
                // Keep the scheme readable: "Bearer ****".
                var token = "bearer".Length;
                while (match[token] is ' ' or '\t')
                {
                    token++;
                }

                hits.Add(new Hit(index + token, length - token, rule));
                break;
            default:
                hits.Add(new Hit(index, length, rule));
                break;
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

    [GeneratedRegex(@"(?<![A-Za-z0-9._%+-])(?>[A-Za-z0-9._%+-]{1,64})@(?:(?>[A-Za-z0-9][A-Za-z0-9-]{0,62})\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex Email();

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
