using System.Buffers;
using System.Globalization;
using System.Text;
using Collector.Pipeline.Secrets;

namespace Collector.Processors.Redaction;

/// <summary>
/// Detector evasions: a secret written percent-encoded (<c>alice%40corp.com</c>), in fullwidth or
/// other compatibility forms (<c>＠</c>), with zero-width or other format characters inside
/// (<c>sk-proj-</c> + U+200B + ...), or base64-encoded. The text is normalised (percent-decoding,
/// NFKC's mappings onto ASCII, format characters removed) only when a cheap pre-check finds such
/// characters; the NFKC part is a table (<see cref="FoldToAscii"/>) because the collector runs with
/// invariant globalization, where string normalisation leaves non-ASCII text as it is; findings in the normalised text are mapped back to the original ranges, so the
/// rest of the value keeps its exact form. Runs of base64 characters long enough to hold a key
/// are decoded and searched for the credential detectors' forms. Buffers are pooled: clean text
/// allocates nothing.
/// </summary>
internal sealed partial class Redactor
{
    /// <summary>Shortest base64 text that can hold a credential form (an AWS key id: 20 bytes).</summary>
    private const int MinBase64Run = 27;

    /// <summary>Text that needs no normalising: ASCII except '%'.</summary>
    private static readonly SearchValues<char> PlainAscii = SearchValues.Create(PlainAsciiChars());

    private static readonly SearchValues<char> Base64Chars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_");

    private void FindEvasions(ReadOnlySpan<char> text, RedactionTally tally)
    {
        if (NeedsNormalising(text))
        {
            FindInNormalised(text, tally);
        }

        if (_keyDetectors.Length > 0 && text.Length >= MinBase64Run)
        {
            FindInBase64(text, tally);
        }
    }

    /// <summary>A valid %XX escape, a format character, or a character NFKC maps onto ASCII.</summary>
    private static bool NeedsNormalising(ReadOnlySpan<char> text)
    {
        var first = text.IndexOfAnyExcept(PlainAscii);
        if (first < 0)
        {
            return false;
        }

        var rest = text[first..];
        for (var i = 0; i < rest.Length; i++)
        {
            var c = rest[i];
            if (c == '%' ? IsEscape(rest, i)
                : c >= 0x80 && (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format || FoldToAscii(c) >= 0
                    || (char.IsHighSurrogate(c) && i + 1 < rest.Length && FoldToAscii(char.ConvertToUtf32(c, rest[i + 1])) >= 0)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The ASCII character NFKC maps <paramref name="codePoint"/> to, or -1: fullwidth forms, the
    /// ideographic and other compatibility spaces, small form variants (U+FE6B small "@"), the
    /// one-dot leader, superscript, subscript and circled digits, mathematical letters and digits.
    /// </summary>
    private static int FoldToAscii(int codePoint) => codePoint switch
    {
        >= 0xFF01 and <= 0xFF5E => codePoint - 0xFEE0,
        0x3000 or 0x00A0 or (>= 0x2000 and <= 0x200A) or 0x202F or 0x205F => ' ',
        0xFE50 => ',',
        0xFE52 or 0x2024 => '.',
        0xFE54 => ';',
        0xFE55 => ':',
        0xFE56 => '?',
        0xFE57 => '!',
        0xFE59 => '(',
        0xFE5A => ')',
        0xFE5F => '#',
        0xFE60 => '&',
        0xFE61 => '*',
        0xFE62 => '+',
        0xFE63 => '-',
        0xFE64 => '<',
        0xFE65 => '>',
        0xFE66 => '=',
        0xFE68 => '\\',
        0xFE69 => '$',
        0xFE6A => '%',
        0xFE6B => '@',
        0x00B9 => '1',
        0x00B2 => '2',
        0x00B3 => '3',
        0x2070 => '0',
        >= 0x2074 and <= 0x2079 => '4' + (codePoint - 0x2074),
        >= 0x2080 and <= 0x2089 => '0' + (codePoint - 0x2080),
        >= 0x2460 and <= 0x2468 => '1' + (codePoint - 0x2460),
        >= 0x1D400 and <= 0x1D6A3 => (codePoint - 0x1D400) % 52 is var letter && letter < 26 ? 'A' + letter : 'a' + letter - 26,
        >= 0x1D7CE and <= 0x1D7FF => '0' + ((codePoint - 0x1D7CE) % 10),
        _ => -1,
    };

    private void FindInNormalised(ReadOnlySpan<char> text, RedactionTally tally)
    {
        // Folding and decoding never lengthen the text.
        var capacity = text.Length;
        var chars = ArrayPool<char>.Shared.Rent(capacity);
        var starts = ArrayPool<int>.Shared.Rent(capacity);
        var ends = ArrayPool<int>.Shared.Rent(capacity);
        try
        {
            var writer = new NormalWriter(chars, starts, ends);
            Span<byte> escaped = stackalloc byte[3 * 4];
            Span<char> decoded = stackalloc char[8];
            for (var i = 0; i < text.Length;)
            {
                if (text[i] == '%' && IsEscape(text, i))
                {
                    // One UTF-8 sequence of up to 4 escapes (%E2%80%8B) decodes to one character.
                    var start = i;
                    var count = 0;
                    while (count < 4 && i < text.Length && text[i] == '%' && IsEscape(text, i))
                    {
                        escaped[count++] = (byte)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2]));
                        i += 3;
                        if (count == 1 && escaped[0] < 0xC0)
                        {
                            break;
                        }
                    }

                    var length = Encoding.UTF8.GetChars(escaped[..count], decoded);
                    writer.Write(decoded[..length], start, i);
                    continue;
                }

                var width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
                writer.Write(text.Slice(i, width), i, i + width);
                i += width;
            }

            var found = tally.DecodedHits;
            found.Clear();
            var normalised = chars.AsSpan(0, writer.Length);
            FindHits(normalised, digitsOnly: false, found);
            foreach (var hit in found)
            {
                tally.Hits.Add(new Hit(starts[hit.Start], ends[hit.End - 1] - starts[hit.Start], hit.Rule));
            }

            found.Clear();
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<int>.Shared.Return(starts);
            ArrayPool<int>.Shared.Return(ends);
        }
    }

    /// <summary>
    /// Each run of base64 characters (standard or URL alphabet, optional padding) long enough for a
    /// key is decoded from its start; when the decoded bytes hold a credential form, the run is masked.
    /// </summary>
    private void FindInBase64(ReadOnlySpan<char> text, RedactionTally tally)
    {
        for (var position = 0; position < text.Length;)
        {
            var start = text[position..].IndexOfAny(Base64Chars);
            if (start < 0)
            {
                return;
            }

            start += position;
            var length = text[start..].IndexOfAnyExcept(Base64Chars);
            var end = length < 0 ? text.Length : start + length;
            position = end + 1;
            if (end - start >= MinBase64Run)
            {
                while (end < text.Length && text[end] == '=' && (end - start) % 4 != 0)
                {
                    end++;
                }

                if (DecodedHolds(text[start..end], tally) is { } rule)
                {
                    tally.Hits.Add(new Hit(start, end - start, rule));
                }
            }
        }
    }

    /// <summary>The rule of a credential form found in the base64-decoded run, or null.</summary>
    private int? DecodedHolds(ReadOnlySpan<char> run, RedactionTally tally)
    {
        var usable = run.TrimEnd('=').Length;
        usable -= usable % 4 == 1 ? 1 : 0;
        var padded = usable + ((4 - (usable % 4)) % 4);
        var chars = ArrayPool<char>.Shared.Rent(padded);
        var bytes = ArrayPool<byte>.Shared.Rent(padded);
        var latin = ArrayPool<char>.Shared.Rent(padded);
        try
        {
            for (var i = 0; i < padded; i++)
            {
                chars[i] = i >= usable ? '=' : run[i] switch { '-' => '+', '_' => '/', var c => c };
            }

            if (!Convert.TryFromBase64Chars(chars.AsSpan(0, padded), bytes, out var written))
            {
                return null;
            }

            // Credential forms are ASCII: one char per byte is enough to find them.
            var decoded = latin.AsSpan(0, Encoding.Latin1.GetChars(bytes.AsSpan(0, written), latin));
            var found = tally.DecodedHits;
            found.Clear();
            foreach (var detector in _keyDetectors)
            {
                BuiltInDetectors.Find(detector, decoded, default, found);
            }

            int? rule = found.Count > 0 ? found[0].Rule : null;
            found.Clear();
            return rule;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(latin);
        }
    }

    private static bool IsEscape(ReadOnlySpan<char> text, int percent) =>
        percent + 2 < text.Length && char.IsAsciiHexDigit(text[percent + 1]) && char.IsAsciiHexDigit(text[percent + 2]);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static string PlainAsciiChars()
    {
        var chars = new char[127];
        for (var c = 0; c < 127; c++)
        {
            chars[c] = c == '%' ? '\0' : (char)c;
        }

        return new string(chars);
    }

    /// <summary>Writes normalised characters, each remembering the original range it came from.</summary>
    private ref struct NormalWriter(Span<char> chars, Span<int> starts, Span<int> ends)
    {
        private readonly Span<char> _chars = chars;
        private readonly Span<int> _starts = starts;
        private readonly Span<int> _ends = ends;

        public int Length { get; private set; }

        /// <summary>Format characters are dropped, compatibility forms folded onto ASCII, the rest copied.</summary>
        public void Write(scoped ReadOnlySpan<char> source, int originalStart, int originalEnd)
        {
            Span<char> unit = stackalloc char[2];
            foreach (var rune in source.EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format)
                {
                    continue;
                }

                var folded = rune.IsAscii ? -1 : FoldToAscii(rune.Value);
                var length = folded >= 0 ? 1 : rune.EncodeToUtf16(unit);
                if (folded >= 0)
                {
                    unit[0] = (char)folded;
                }

                for (var i = 0; i < length && Length < _chars.Length; i++)
                {
                    _chars[Length] = unit[i];
                    _starts[Length] = originalStart;
                    _ends[Length] = originalEnd;
                    Length++;
                }
            }
        }
    }
}
