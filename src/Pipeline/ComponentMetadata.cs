using Collector.Pipeline.Telemetry;

namespace Collector.Pipeline;

/// <summary>How far a component's support for one signal may be relied on (as in the OpenTelemetry Collector).</summary>
public enum Stability
{
    Development,
    Alpha,
    Beta,
    Stable,
}

/// <summary>
/// What a factory declares about its components: the signals they create, each with its
/// stability, and the self-metrics they register. <c>validate</c> reads the signals, the
/// component contract test and the README check read the metrics.
/// </summary>
public sealed class ComponentMetadata
{
    private readonly Stability?[] _signals;
    private readonly MetricInfo[] _metrics;

    private ComponentMetadata(Stability?[] signals, MetricInfo[] metrics)
    {
        _signals = signals;
        _metrics = metrics;
    }

    public static ComponentMetadata Empty { get; } = new(new Stability?[3], []);

    public IReadOnlyList<MetricInfo> Metrics => _metrics;

    /// <summary>The declared stability for <paramref name="signal"/>; null when the component does not create it.</summary>
    public Stability? StabilityOf(Signal signal) => _signals[(int)signal];

    public bool Creates(Signal signal) => _signals[(int)signal] is not null;

    public ComponentMetadata WithSignal(Signal signal, Stability stability)
    {
        if (Creates(signal))
        {
            throw new InvalidOperationException($"{signal.ToConfigName()} is declared twice");
        }

        var signals = (Stability?[])_signals.Clone();
        signals[(int)signal] = stability;
        return new(signals, _metrics);
    }

    public ComponentMetadata WithMetrics(IEnumerable<MetricInfo> metrics) => new(_signals, [.. _metrics, .. metrics]);
}
