using System.Runtime.CompilerServices;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Collector.Pipeline.Configuration;

/// <summary>
/// Expands <c>${env:NAME}</c>, <c>${env:NAME:-default}</c> and <c>${NAME}</c> inside YAML scalar
/// values, in place, as the OpenTelemetry Collector does: an unset variable without a default
/// becomes the empty string; <c>$${</c> is a literal <c>${</c>. Each rewritten scalar remembers
/// its original text so that error messages show <c>${env:TOKEN}</c>, never the secret it held.
/// </summary>
internal static class EnvExpander
{
    // Metadata attached to the scalar nodes themselves: the binder and the loader read it back
    // without threading a context through every call, and it goes away with the YAML tree.
    private static readonly ConditionalWeakTable<YamlScalarNode, Expansion> Expansions = [];

    /// <summary>Expands every scalar value under <paramref name="root"/> (mapping keys stay literal).</summary>
    public static void ExpandAll(YamlNode root, Func<string, string?> getEnv)
    {
        // Aliases make one node reachable twice; expanding twice would re-read "${" that came from an escape.
        var seen = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);
        Walk(root, getEnv, seen);
    }

    /// <summary>The text to show for a scalar in messages: as written in the file when it was expanded.</summary>
    public static string Display(YamlScalarNode node) =>
        Expansions.TryGetValue(node, out var e) ? e.Original : node.Value ?? string.Empty;

    /// <summary>True when the scalar's value came out of an expansion (so it is a string, never YAML null).</summary>
    public static bool WasExpanded(YamlScalarNode node) => Expansions.TryGetValue(node, out _);

    /// <summary>The reason a scalar could not be expanded, or null.</summary>
    public static string? ErrorOf(YamlScalarNode node) =>
        Expansions.TryGetValue(node, out var e) ? e.Error : null;

    /// <summary>Every expanded value under <paramref name="root"/>, paired with the text that replaces it in messages.</summary>
    public static IReadOnlyList<Substitution> SubstitutionsUnder(YamlNode root)
    {
        var found = new List<Substitution>();
        foreach (var node in root.AllNodes)
        {
            if (node is YamlScalarNode scalar && Expansions.TryGetValue(scalar, out var e))
            {
                found.AddRange(e.Substitutions);
            }
        }

        // Longest first, so that a whole value wins over a variable inside it.
        found.Sort(static (a, b) => b.Value.Length.CompareTo(a.Value.Length));
        return found;
    }

    /// <summary>
    /// Replaces each substituted value found in <paramref name="message"/> as a whole token by its
    /// reference text, in one pass so that replacements are never rewritten again.
    /// </summary>
    public static string Redact(string message, IReadOnlyList<Substitution> substitutions)
    {
        if (substitutions.Count == 0)
        {
            return message;
        }

        var sb = new StringBuilder(message.Length);
        var i = 0;
        while (i < message.Length)
        {
            var matched = false;
            foreach (var s in substitutions)
            {
                if (IsTokenAt(message, i, s.Value))
                {
                    sb.Append(s.Reference);
                    i += s.Value.Length;
                    matched = true;
                    break;
                }
            }

            if (!matched)
            {
                sb.Append(message[i]);
                i++;
            }
        }

        return sb.ToString();
    }

    /// <summary>Expands one string; null result and an error when a reference is malformed or unsupported.</summary>
    private static string? Expand(string text, Func<string, string?> getEnv, List<Substitution> substitutions, out string? error)
    {
        error = null;
        var sb = new StringBuilder(text.Length);
        var pos = 0;
        int dollar;
        while ((dollar = text.IndexOf('$', pos)) >= 0)
        {
            sb.Append(text, pos, dollar - pos);
            if (string.CompareOrdinal(text, dollar, "$${", 0, 3) == 0)
            {
                sb.Append("${");
                pos = dollar + 3;
                continue;
            }

            if (dollar + 1 < text.Length && text[dollar + 1] == '{')
            {
                var close = text.IndexOf('}', dollar + 2);
                if (close < 0)
                {
                    error = "'${' has no closing '}' (write $${ for a literal ${)";
                    return null;
                }

                if (!TryResolve(text[(dollar + 2)..close], getEnv, substitutions, out var value, out error))
                {
                    return null;
                }

                sb.Append(value);
                pos = close + 1;
                continue;
            }

            sb.Append('$');
            pos = dollar + 1;
        }

        sb.Append(text, pos, text.Length - pos);
        return sb.ToString();
    }

    private static void Walk(YamlNode node, Func<string, string?> getEnv, HashSet<YamlNode> seen)
    {
        if (!seen.Add(node))
        {
            return;
        }

        switch (node)
        {
            case YamlScalarNode scalar:
                ExpandScalar(scalar, getEnv);
                break;
            case YamlSequenceNode sequence:
                foreach (var child in sequence.Children)
                {
                    Walk(child, getEnv, seen);
                }

                break;
            case YamlMappingNode mapping:
                foreach (var entry in mapping.Children)
                {
                    Walk(entry.Value, getEnv, seen);
                }

                break;
        }
    }

    private static void ExpandScalar(YamlScalarNode scalar, Func<string, string?> getEnv)
    {
        var original = scalar.Value;
        if (original is null || !original.Contains("${", StringComparison.Ordinal))
        {
            return;
        }

        var substitutions = new List<Substitution>();
        var expanded = Expand(original, getEnv, substitutions, out var error);
        if (expanded is not null)
        {
            // The whole value too, for messages that print it (a partly secret "Bearer ${env:TOKEN}").
            if (substitutions.Count > 0 && expanded.Length > 0)
            {
                substitutions.Add(new Substitution(expanded, original));
            }

            scalar.Value = expanded;
        }

        Expansions.AddOrUpdate(scalar, new Expansion(original, error, substitutions));
    }

    private static bool TryResolve(string reference, Func<string, string?> getEnv, List<Substitution> substitutions, out string value, out string? error)
    {
        value = string.Empty;
        string name;
        string? fallback = null;
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            // No scheme: env, the OpenTelemetry Collector's default provider.
            name = reference;
        }
        else if (string.CompareOrdinal(reference, colon, ":-", 0, 2) == 0)
        {
            name = reference[..colon];
            fallback = reference[(colon + 2)..];
        }
        else if (reference.AsSpan(0, colon) is "env")
        {
            var rest = reference[(colon + 1)..];
            var dash = rest.IndexOf(":-", StringComparison.Ordinal);
            name = dash < 0 ? rest : rest[..dash];
            fallback = dash < 0 ? null : rest[(dash + 2)..];
        }
        else
        {
            error = $"unknown config provider '{reference[..colon]}' in '${{{reference}}}' (only ${{env:NAME}} is supported)";
            return false;
        }

        if (!IsVariableName(name))
        {
            error = $"'{name}' in '${{{reference}}}' is not a valid environment variable name";
            return false;
        }

        error = null;
        var fromEnv = getEnv(name);
        value = fromEnv ?? fallback ?? string.Empty;
        if (!string.IsNullOrEmpty(fromEnv))
        {
            substitutions.Add(new Substitution(fromEnv, $"${{env:{name}}}"));
        }

        return true;
    }

    private static bool IsVariableName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsTokenAt(string message, int index, string value)
    {
        if (value.Length == 0 || string.CompareOrdinal(message, index, value, 0, value.Length) != 0)
        {
            return false;
        }

        // Whole tokens only: a value "1" must not rewrite the "1" in "10".
        var end = index + value.Length;
        var startOk = index == 0 || !char.IsLetterOrDigit(value[0]) || !char.IsLetterOrDigit(message[index - 1]);
        var endOk = end == message.Length || !char.IsLetterOrDigit(value[^1]) || !char.IsLetterOrDigit(message[end]);
        return startOk && endOk;
    }

    /// <summary>A value that came from the environment and the reference text shown in its place.</summary>
    internal readonly record struct Substitution(string Value, string Reference);

    private sealed record Expansion(string Original, string? Error, IReadOnlyList<Substitution> Substitutions);
}
