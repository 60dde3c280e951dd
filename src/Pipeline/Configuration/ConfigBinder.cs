using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Collector.Pipeline.Configuration;

/// <summary>
/// Binds a YAML mapping onto a config object by reflection: PascalCase properties from
/// snake_case keys (or <see cref="ConfigKeyAttribute"/>), every problem reported with its path,
/// nothing thrown for bad input. Supported property types: string, bool, int, long, double,
/// TimeSpan (Go-style durations, unit required), <see cref="ComponentId"/>, enums (snake_case or member names, any case),
/// their nullable forms, lists / arrays / sets and string-keyed dictionaries of those or of
/// nested classes, and nested classes with a public parameterless constructor. Any other
/// settable property type is a programming error (NotSupportedException) unless marked
/// <see cref="ConfigIgnoreAttribute"/>.
/// </summary>
// Binding reflects over config classes. The native AOT build keeps them whole: src/Collector roots
// every collector assembly (TrimmerRootAssembly), and generic collections of reference types share code.
[UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "config types are in rooted assemblies")]
[UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "config types are in rooted assemblies")]
[UnconditionalSuppressMessage("AOT", "IL3050", Justification = "collections of config element types are instantiated elsewhere or share reference-type code")]
internal static class ConfigBinder
{
    private static readonly ConcurrentDictionary<Type, TypeBinding> Bindings = new();

    /// <summary>
    /// Sets the properties of <paramref name="target"/> named in <paramref name="node"/> (a mapping;
    /// null or YAML null leaves the target untouched). Absent keys keep their current values.
    /// </summary>
    public static void Bind(YamlNode? node, object target, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(errors);
        if (IsNull(node))
        {
            return;
        }

        if (node is YamlMappingNode mapping)
        {
            BindMapping(mapping, target, For(target.GetType()), errors);
        }
        else
        {
            errors.Add($"expected a mapping, got {Describe(node!)}");
        }
    }

    /// <summary>
    /// Validates <paramref name="target"/> and then, below it, every nested settings object (and
    /// list or map element) that is <see cref="IValidatable"/>, each with its YAML path: a parent's
    /// Validate checks its own keys and never calls its children's.
    /// </summary>
    public static void Validate(object target, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(errors);
        Walk(target, errors, static (node, at) => (node as IValidatable)?.Validate(at));
    }

    /// <summary>
    /// Runs <see cref="IEnvironmentValidatable.ValidateEnvironment"/> on <paramref name="target"/> and
    /// every nested settings object, as <see cref="Validate"/> walks them (<c>collector validate</c>).
    /// </summary>
    public static void ValidateEnvironment(ComponentId owner, object target, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(errors);
        Walk(target, errors, (node, at) => (node as IEnvironmentValidatable)?.ValidateEnvironment(owner, at));
    }

    private static void Walk(object target, ConfigErrors errors, Action<object, ConfigErrors> visit)
    {
        visit(target, errors);
        foreach (var (key, property) in For(target.GetType()).Properties)
        {
            if (property.Info.GetValue(target) is { } value)
            {
                WalkValue(value, property.Type, errors, key, visit);
            }
        }
    }

    private static void WalkValue(object value, TypeBinding type, ConfigErrors parent, string key, Action<object, ConfigErrors> visit)
    {
        switch (type.Shape)
        {
            case Shape.Object:
                Walk(value, parent.At(key), visit);
                break;
            case Shape.Sequence when type.Element!.Shape == Shape.Object:
                var i = 0;
                foreach (var item in (IEnumerable)value)
                {
                    if (item is not null)
                    {
                        Walk(item, parent.At($"{key}[{i.ToString(CultureInfo.InvariantCulture)}]"), visit);
                    }

                    i++;
                }

                break;
            case Shape.Mapping when type.Element!.Shape == Shape.Object:
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    if (entry.Value is not null)
                    {
                        Walk(entry.Value, parent.At(key).At((string)entry.Key), visit);
                    }
                }

                break;
        }
    }

    /// <summary>YAML null: absent, <c>~</c>, <c>null</c> or an empty plain value (an expanded env value never is).</summary>
    public static bool IsNull(YamlNode? node) =>
        node is null
        || (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
            && !EnvExpander.WasExpanded(scalar)
            && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");

    /// <summary>How a node is shown in messages: its text as written for scalars, its kind otherwise.</summary>
    public static string Describe(YamlNode node) => Describe(node, secret: false);

    /// <summary>
    /// As <see cref="Describe(YamlNode)"/>, but a scalar under a <see cref="SecretAttribute"/> key is
    /// named by its kind only: a mistyped inline token must not reach the log or the terminal.
    /// </summary>
    private static string Describe(YamlNode node, bool secret) => node switch
    {
        YamlScalarNode when secret => "a text value (not shown: the key holds secrets)",
        YamlScalarNode scalar => $"'{EnvExpander.Display(scalar)}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an unsupported YAML node",
    };

    /// <summary>"unknown key 'timout' (did you mean 'timeout'?)".</summary>
    public static string UnknownKey(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = Math.Max(1, Math.Min(3, key.Length / 3)) + 1;
        foreach (var candidate in known)
        {
            var d = EditDistance(key, candidate);
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        return best is null ? $"unknown key '{key}'" : $"unknown key '{key}' (did you mean '{best}'?)";
    }

    /// <summary>MaxRecvMsgSizeMib -> max_recv_msg_size_mib; HTTPServer -> http_server; Ipv4 -> ipv4.</summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var startsWord = i > 0
                    && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1])
                        || (char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1])));
                if (startsWord)
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static TypeBinding For(Type type) => Bindings.GetOrAdd(Nullable.GetUnderlyingType(type) ?? type, TypeBinding.Create);

    private static void BindMapping(YamlMappingNode mapping, object target, TypeBinding type, ConfigErrors errors)
    {
        var properties = type.Properties;
        foreach (var entry in mapping.Children)
        {
            if (entry.Key is not YamlScalarNode { Value: { Length: > 0 } key })
            {
                errors.Add($"keys must be plain strings, got {Describe(entry.Key)}");
                continue;
            }

            if (!properties.TryGetValue(key, out var property))
            {
                errors.Add(key, UnknownKey(key, properties.Keys));
                continue;
            }

            if (TryRead(entry.Value, property.Type, property.AllowsNull, property.Info.GetValue(target), errors, key, property.Secret, out var value))
            {
                property.Info.SetValue(target, value);
            }
        }
    }

    /// <summary>
    /// Converts <paramref name="node"/> to <paramref name="type"/>. False means "leave the current
    /// value": either an error was reported, or a non-nullable scalar was given YAML null.
    /// </summary>
    private static bool TryRead(YamlNode? node, TypeBinding type, bool allowsNull, object? current, ConfigErrors parent, string key, bool secret, out object? value)
    {
        value = null;
        if (IsNull(node))
        {
            if (type.Shape == Shape.Object)
            {
                // "grpc:" with nothing under it switches the section on with its defaults.
                value = current ?? type.CreateObject();
                return true;
            }

            return allowsNull;
        }

        var errors = parent.At(key);
        switch (type.Shape)
        {
            case Shape.Object:
                if (node is not YamlMappingNode mapping)
                {
                    errors.Add($"expected a mapping, got {Describe(node!, secret)}");
                    return false;
                }

                value = current ?? type.CreateObject();
                BindMapping(mapping, value, type, errors);
                return true;

            case Shape.Sequence:
                return TryReadSequence(node!, type, parent, key, secret, out value);

            case Shape.Mapping:
                return TryReadMapping(node!, type, errors, secret, out value);

            default:
                if (node is not YamlScalarNode scalar)
                {
                    errors.Add($"expected {type.Description}, got {Describe(node!, secret)}");
                    return false;
                }

                if (EnvExpander.ErrorOf(scalar) is { } expansionError)
                {
                    errors.Add(expansionError);
                    return false;
                }

                if (!TryParseScalar(scalar.Value ?? string.Empty, type, out value))
                {
                    errors.Add(ScalarError(scalar, type, secret));
                    return false;
                }

                return true;
        }
    }

    private static bool TryReadSequence(YamlNode node, TypeBinding type, ConfigErrors parent, string key, bool secret, out object? value)
    {
        value = null;
        if (node is not YamlSequenceNode sequence)
        {
            parent.Add(key, $"expected a list, got {Describe(node, secret)}");
            return false;
        }

        var items = type.CreateList();
        var ok = true;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var itemKey = $"{key}[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (ReadElement(sequence.Children[i], type.Element!, parent, itemKey, secret, out var item))
            {
                items.Add(item);
            }
            else
            {
                ok = false;
            }
        }

        value = type.FromList(items);
        return ok;
    }

    private static bool TryReadMapping(YamlNode node, TypeBinding type, ConfigErrors errors, bool secret, out object? value)
    {
        value = null;
        if (node is not YamlMappingNode mapping)
        {
            errors.Add($"expected a mapping, got {Describe(node, secret)}");
            return false;
        }

        // Dictionary<string, T> also serves the IDictionary / IReadOnlyDictionary property types.
        var entries = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), type.Element!.Type))!;
        var ok = true;
        foreach (var entry in mapping.Children)
        {
            if (entry.Key is not YamlScalarNode { Value: { Length: > 0 } key })
            {
                errors.Add($"keys must be plain strings, got {Describe(entry.Key)}");
                ok = false;
            }
            else if (ReadElement(entry.Value, type.Element!, errors, key, secret, out var item))
            {
                entries[key] = item;
            }
            else
            {
                ok = false;
            }
        }

        value = entries;
        return ok;
    }

    /// <summary>A list item or dictionary value: unlike a property, YAML null is an error unless it is a section.</summary>
    private static bool ReadElement(YamlNode node, TypeBinding element, ConfigErrors parent, string key, bool secret, out object? value)
    {
        if (IsNull(node) && element.Shape != Shape.Object)
        {
            parent.Add(key, $"expected {element.Description}, got null");
            value = null;
            return false;
        }

        return TryRead(node, element, allowsNull: false, current: null, parent, key, secret, out value);
    }

    private static bool TryParseScalar(string text, TypeBinding type, out object? value)
    {
        var inv = CultureInfo.InvariantCulture;
        value = null;
        switch (type.Shape)
        {
            case Shape.String:
                value = text;
                return true;
            case Shape.Bool when bool.TryParse(text, out var b):
                value = b;
                return true;
            case Shape.Int32 when int.TryParse(text, NumberStyles.AllowLeadingSign, inv, out var i):
                value = i;
                return true;
            case Shape.Int64 when long.TryParse(text, NumberStyles.AllowLeadingSign, inv, out var l):
                value = l;
                return true;
            case Shape.Double when double.TryParse(text, NumberStyles.Float, inv, out var d) && double.IsFinite(d):
                value = d;
                return true;
            case Shape.Duration when Duration.TryParse(text, out var t):
                value = t;
                return true;
            case Shape.Enum when type.EnumValues!.TryGetValue(text.Trim(), out var e):
                value = e;
                return true;
            case Shape.ComponentId when ComponentId.TryParse(text, out var id):
                value = id;
                return true;
            default:
                return false;
        }
    }

    private static string ScalarError(YamlScalarNode scalar, TypeBinding type, bool secret) =>
        type.Shape == Shape.Duration && long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
            ? $"{Describe(scalar, secret)} is not a duration: a unit is required (e.g. 5s, 500ms)"
            : $"{Describe(scalar, secret)} is not {type.Description}";

    /// <summary>Optimal string alignment distance: a transposition ("recievers") counts as one edit.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    best = Math.Min(best, d[i - 2, j - 2] + 1);
                }

                d[i, j] = best;
            }
        }

        return d[a.Length, b.Length];
    }

    private enum Shape
    {
        String,
        Bool,
        Int32,
        Int64,
        Double,
        Duration,
        Enum,
        ComponentId,
        Sequence,
        Mapping,
        Object,
    }

    private enum ListKind
    {
        List,
        Array,
        Set,
    }

    /// <summary><paramref name="Secret"/>: the property carries <see cref="SecretAttribute"/>; its values are never shown in errors.</summary>
    private sealed record PropertyBinding(PropertyInfo Info, TypeBinding Type, bool AllowsNull, bool Secret);

    /// <summary>How one CLR type is read from YAML; built once per type.</summary>
    private sealed class TypeBinding
    {
        private readonly Lazy<Dictionary<string, PropertyBinding>>? _properties;

        private TypeBinding(Type type, Shape shape, string description, TypeBinding? element = null, ListKind listKind = ListKind.List)
        {
            Type = type;
            Shape = shape;
            Description = description;
            Element = element;
            ListKind = listKind;
            if (shape == Shape.Object)
            {
                // Lazy, so that a section type may (indirectly) contain itself.
                _properties = new Lazy<Dictionary<string, PropertyBinding>>(() => MapProperties(type));
            }
            else if (shape == Shape.Enum)
            {
                EnumValues = MapEnum(type, out var names);
                Description = $"one of: {names}";
            }
        }

        public Type Type { get; }

        public Shape Shape { get; }

        /// <summary>What is expected, for messages: "an integer", "one of: a, b".</summary>
        public string Description { get; }

        public TypeBinding? Element { get; }

        public ListKind ListKind { get; }

        public Dictionary<string, object>? EnumValues { get; }

        public Dictionary<string, PropertyBinding> Properties => _properties!.Value;

        public static TypeBinding Create(Type type)
        {
            if (type == typeof(string))
            {
                return new(type, Shape.String, "a string");
            }

            if (type == typeof(bool))
            {
                return new(type, Shape.Bool, "a boolean (true or false)");
            }

            if (type == typeof(int))
            {
                return new(type, Shape.Int32, "an integer");
            }

            if (type == typeof(long))
            {
                return new(type, Shape.Int64, "an integer");
            }

            if (type == typeof(double))
            {
                return new(type, Shape.Double, "a number");
            }

            if (type == typeof(TimeSpan))
            {
                return new(type, Shape.Duration, "a duration (e.g. 500ms, 5s, 1m30s)");
            }

            if (type == typeof(ComponentId))
            {
                return new(type, Shape.ComponentId, "a component id (type or type/name)");
            }

            if (type.IsEnum)
            {
                return new(type, Shape.Enum, string.Empty);
            }

            if (type.IsArray && type.GetArrayRank() == 1)
            {
                return new(type, Shape.Sequence, "a list", For(type.GetElementType()!), ListKind.Array);
            }

            if (type.IsGenericType)
            {
                var definition = type.GetGenericTypeDefinition();
                var args = type.GetGenericArguments();
                if (definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(ICollection<>)
                    || definition == typeof(IEnumerable<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>))
                {
                    return new(type, Shape.Sequence, "a list", For(args[0]));
                }

                if (definition == typeof(HashSet<>) || definition == typeof(ISet<>) || definition == typeof(IReadOnlySet<>))
                {
                    return new(type, Shape.Sequence, "a list", For(args[0]), ListKind.Set);
                }

                if ((definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>))
                    && args[0] == typeof(string))
                {
                    return new(type, Shape.Mapping, "a mapping", For(args[1]));
                }
            }

            if (type.IsClass && !type.IsAbstract && type != typeof(object) && !typeof(IEnumerable).IsAssignableFrom(type)
                && type.GetConstructor(Type.EmptyTypes) is not null)
            {
                return new(type, Shape.Object, "a mapping");
            }

            throw new NotSupportedException($"config binding does not support properties of type {type}; mark such a property [ConfigIgnore]");
        }

        public object CreateObject() => Activator.CreateInstance(Type)!;

        public IList CreateList() => (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(Element!.Type))!;

        public object FromList(IList items)
        {
            switch (ListKind)
            {
                case ListKind.Array:
                    var array = Array.CreateInstance(Element!.Type, items.Count);
                    items.CopyTo(array, 0);
                    return array;
                case ListKind.Set:
                    return Activator.CreateInstance(typeof(HashSet<>).MakeGenericType(Element!.Type), items)!;
                default:
                    return items;
            }
        }

        private static Dictionary<string, PropertyBinding> MapProperties(Type type)
        {
            var nullability = new NullabilityInfoContext();
            var map = new Dictionary<string, PropertyBinding>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var info in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                // Settable (set or init) properties only; a derived class's property hides the base one.
                if (info.GetIndexParameters().Length > 0 || info.GetMethod?.IsPublic != true || info.SetMethod?.IsPublic != true
                    || info.IsDefined(typeof(ConfigIgnoreAttribute), inherit: true) || !names.Add(info.Name))
                {
                    continue;
                }

                var key = info.GetCustomAttribute<ConfigKeyAttribute>(inherit: true)?.Key ?? ToSnakeCase(info.Name);
                var allowsNull = Nullable.GetUnderlyingType(info.PropertyType) is not null
                    || (!info.PropertyType.IsValueType && nullability.Create(info).WriteState == NullabilityState.Nullable);
                if (!map.TryAdd(key, new PropertyBinding(info, For(info.PropertyType), allowsNull, info.IsDefined(typeof(SecretAttribute), inherit: true))))
                {
                    throw new InvalidOperationException($"{type}: two properties bind to the key '{key}'");
                }
            }

            return map;
        }

        private static Dictionary<string, object> MapEnum(Type type, out string names)
        {
            var values = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            var shown = new List<string>();
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var value = field.GetValue(null)!;
                var key = field.GetCustomAttribute<ConfigKeyAttribute>()?.Key;
                if (key is null)
                {
                    key = ToSnakeCase(field.Name);
                    values.TryAdd(field.Name, value);
                }

                values.TryAdd(key, value);
                shown.Add(key);
            }

            names = string.Join(", ", shown);
            return values;
        }
    }
}
