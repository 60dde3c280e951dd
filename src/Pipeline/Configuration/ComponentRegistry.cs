namespace Collector.Pipeline.Configuration;

/// <summary>Every component factory the binary knows, by kind and type name.</summary>
public sealed class ComponentRegistry
{
    private readonly Dictionary<(ComponentKind Kind, string Type), IComponentFactory> _factories = [];

    public ComponentRegistry(IEnumerable<IComponentFactory> factories)
    {
        foreach (var f in factories)
        {
            if (!_factories.TryAdd((f.Kind, f.Type), f))
            {
                throw new ArgumentException($"two {f.Kind} factories named '{f.Type}'", nameof(factories));
            }
        }
    }

    /// <summary>Every factory, for checks that run over all of them (the component contract test).</summary>
    public IEnumerable<IComponentFactory> All => _factories.Values;

    public IComponentFactory? Find(ComponentKind kind, string type) => _factories.GetValueOrDefault((kind, type));

    public TFactory Get<TFactory>(ComponentKind kind, string type)
        where TFactory : class, IComponentFactory =>
        Find(kind, type) as TFactory ?? throw new InvalidOperationException($"no {kind} factory '{type}'");

    /// <summary>Type names of one kind, sorted, for error messages ("known: batch, memory_limiter").</summary>
    public IReadOnlyList<string> TypesOf(ComponentKind kind)
    {
        var list = new List<string>();
        foreach (var key in _factories.Keys)
        {
            if (key.Kind == kind)
            {
                list.Add(key.Type);
            }
        }

        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
