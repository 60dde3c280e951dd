namespace Collector.Pipeline.Telemetry;

public enum MetricType
{
    Counter,
    Gauge,
}

/// <summary>
/// A self-metric as a component declares it in its factory (and its README's "Metrics" table).
/// <see cref="ItemPlaceholder"/> in the name or description stands for the item noun of each
/// signal the component creates (spans, metric_points, log_records).
/// </summary>
public sealed class MetricInfo(string name, MetricType type, string unit, string description, params string[] labels)
{
    public const string ItemPlaceholder = "{item}";

    public string Name { get; } = name;

    public MetricType Type { get; } = type;

    /// <summary>UCUM-style unit as in OpenTelemetry metadata: "{spans}", "{batches}", "By", "1".</summary>
    public string Unit { get; } = unit;

    public string Description { get; } = description;

    /// <summary>Label keys, in the order the series carries them.</summary>
    public IReadOnlyList<string> Labels { get; } = labels;

    /// <summary>Name and description as registered by a component of <paramref name="signal"/>.</summary>
    public (string Name, string Description) For(Signal signal) =>
        (Name.Replace(ItemPlaceholder, signal.ItemName(), StringComparison.Ordinal),
         Description.Replace(ItemPlaceholder, signal.ItemName(), StringComparison.Ordinal));
}

/// <summary>A metric family as registered on <see cref="SelfMetrics"/>: what the contract test compares with <see cref="MetricInfo"/>.</summary>
public sealed record RegisteredMetric(string Name, string Help, MetricType Type, IReadOnlyList<string> Labels);
