using System.Buffers;
using System.Text;
using System.Text.Json;
using Rules = Collector.Processors.Redaction.RedactionTally.Rules;

namespace Collector.Processors.Redaction;

/// <summary>
/// Strings inside JSON-string values (gen_ai.input.messages, llm.prompts, ...): the JSON is
/// read token by token and only the tokens that change are spliced, so everything else, the
/// layout included, stays byte for byte. Text that does not parse, is deeper than the budget
/// or longer than max_json_bytes is scanned as plain text instead.
/// </summary>
internal sealed partial class Redactor
{
    /// <summary>Cheap shape test, so log lines like "[INFO] ..." and prose never reach the parser.</summary>
    private static bool LooksLikeJson(ReadOnlySpan<char> text)
    {
        var t = text.Trim(" \t\r\n");
        return t.Length >= 2 && ((t[0] == '{' && t[^1] == '}') || (t[0] == '[' && t[^1] == ']'));
    }

    /// <summary>
    /// Redacts string values (recursively, for JSON inside JSON strings), property names, numbers
    /// that may be card numbers, and whole values under blocked keys. <paramref name="parsed"/> is
    /// false when the text is not JSON within the limits; the tally is then left as it was.
    /// </summary>
    private string? RedactJson(ReadOnlySpan<char> text, int depthBudget, RedactionTally tally, ref int masked, out bool parsed)
    {
        parsed = false;
        var byteCount = Encoding.UTF8.GetByteCount(text);
        if (byteCount > _maxJsonBytes)
        {
            return null;
        }

        Span<long> saved = stackalloc long[RedactionTally.SavedLength];
        tally.SaveTo(saved);
        Span<char> number = stackalloc char[32];
        var bytes = ArrayPool<byte>.Shared.Rent(byteCount);
        // No unescaped token is longer than the document's byte count.
        var chars = ArrayPool<char>.Shared.Rent(byteCount);
        try
        {
            var json = bytes.AsSpan(0, Encoding.UTF8.GetBytes(text, bytes));
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = depthBudget });
            List<Edit>? edits = null;
            var count = 0;
            var blocked = false;
            while (reader.Read())
            {
                var start = (int)reader.TokenStartIndex;
                var token = reader.TokenType;
                string? replacement = null;
                var end = start + reader.ValueSpan.Length + (token is JsonTokenType.String or JsonTokenType.PropertyName ? 2 : 0);
                if (token == JsonTokenType.PropertyName)
                {
                    var name = chars.AsSpan(0, reader.CopyString(chars));
                    blocked = IsBlockedKey(name, tally);
                    // Maps keyed by data ({"bob@example.com": ...}) leak through their keys.
                    replacement = RedactPlain(name, digitsOnly: false, tally, ref count);
                }
                else if (blocked && token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                    end = (int)reader.BytesConsumed;
                    replacement = WholeJsonValue(json[start..end], tally, ref count);
                }
                else if (blocked && token == JsonTokenType.String)
                {
                    replacement = Replacement(chars.AsSpan(0, reader.CopyString(chars)));
                    tally.MaskedByRule[Rules.BlockedKeys]++;
                    count++;
                }
                else if (blocked && token is JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null)
                {
                    replacement = WholeJsonValue(json[start..end], tally, ref count);
                }
                else if (token == JsonTokenType.String)
                {
                    var value = chars.AsSpan(0, reader.CopyString(chars));
                    replacement = RedactText(value, depthBudget - reader.CurrentDepth - 1, tally, ref count);
                }
                else if (token == JsonTokenType.Number && _cards && reader.ValueSpan.Length is >= 13 and <= 32)
                {
                    var digits = number[..Encoding.ASCII.GetChars(reader.ValueSpan, number)];
                    replacement = RedactPlain(digits, digitsOnly: true, tally, ref count);
                }

                if (token != JsonTokenType.PropertyName)
                {
                    blocked = false;
                }

                if (replacement is not null)
                {
                    (edits ??= []).Add(new Edit(start, end, replacement));
                }
            }

            parsed = true;
            masked += count;
            return edits is null ? null : Splice(json, edits, chars);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            tally.RestoreFrom(saved);
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private string WholeJsonValue(ReadOnlySpan<byte> rawJson, RedactionTally tally, ref int count)
    {
        tally.MaskedByRule[Rules.BlockedKeys]++;
        count++;
        return _hashKey is null ? Mask : HashOf(rawJson);
    }

    /// <summary>The original text with each edited token replaced by its new value as a JSON string.</summary>
    private static string Splice(ReadOnlySpan<byte> json, List<Edit> edits, char[] scratch)
    {
        var output = new StringBuilder(json.Length + 16);
        var position = 0;
        foreach (var edit in edits)
        {
            AppendUtf8(output, json[position..edit.Start], scratch);
            AppendJsonString(output, edit.Text);
            position = edit.End;
        }

        AppendUtf8(output, json[position..], scratch);
        return output.ToString();
    }

    private static void AppendUtf8(StringBuilder output, ReadOnlySpan<byte> utf8, char[] scratch) =>
        output.Append(scratch, 0, Encoding.UTF8.GetChars(utf8, scratch));

    private static void AppendJsonString(StringBuilder output, string value)
    {
        output.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"':
                    output.Append("\\\"");
                    break;
                case '\\':
                    output.Append("\\\\");
                    break;
                case '\n':
                    output.Append("\\n");
                    break;
                case '\r':
                    output.Append("\\r");
                    break;
                case '\t':
                    output.Append("\\t");
                    break;
                case < ' ':
                    output.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case >= '\uD800' and <= '\uDBFF' when i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]):
                    output.Append(c).Append(value[++i]);
                    break;
                case >= '\uD800' and <= '\uDFFF':
                    // A lone surrogate is not valid UTF-8; keep it as an escape rather than lose it.
                    output.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    output.Append(c);
                    break;
            }
        }

        output.Append('"');
    }

    private readonly record struct Edit(int Start, int End, string Text);
}
