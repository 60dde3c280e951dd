namespace Collector.Pipeline.Configuration;

/// <summary>
/// Binds a config property (or names an enum member) under <see cref="Key"/> instead of the
/// snake_case form of its C# name.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, Inherited = true)]
public sealed class ConfigKeyAttribute(string key) : Attribute
{
    public string Key { get; } = key;
}

/// <summary>Keeps a settable property out of YAML binding (derived or runtime-only state).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class ConfigIgnoreAttribute : Attribute
{
}

/// <summary>
/// The property holds secrets (tokens, api keys, header values, hash keys, passwords): binding
/// errors name the YAML kind of a wrong value ("a text value"), never the value itself, for the
/// property and every list item or mapping value under it.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class SecretAttribute : Attribute
{
}
