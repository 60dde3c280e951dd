namespace Collector.Pipeline;

/// <summary>A component id as written in YAML: <c>type</c> or <c>type/name</c>.</summary>
public readonly record struct ComponentId(string Type, string Name)
{
    public static bool TryParse(string text, out ComponentId id)
    {
        id = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var type = slash < 0 ? text : text[..slash];
        var name = slash < 0 ? string.Empty : text[(slash + 1)..];
        if (type.Length == 0 || (slash >= 0 && name.Length == 0) || type.Contains(' ', StringComparison.Ordinal))
        {
            return false;
        }

        id = new ComponentId(type, name);
        return true;
    }

    public override string ToString() => Name.Length == 0 ? Type : $"{Type}/{Name}";
}
