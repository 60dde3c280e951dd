using System.Globalization;
using System.Text;

namespace Collector.Pipeline.Telemetry;

/// <summary>
/// The collector's own counters and gauges, served as Prometheus text. Names follow the
/// OpenTelemetry Collector (collector_receiver_accepted_spans_total, ...). Counters are lock-free;
/// the registry lock is taken only when a series is created or rendered.
/// </summary>
public sealed class SelfMetrics
{
    private readonly Dictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Returns the counter for this name and label set, creating it on first use.</summary>
    public Counter Counter(string name, string help, params (string Key, string Value)[] labels)
    {
        var series = GetSeries(name, help, MetricType.Counter, labels, () => new Counter());
        return (Counter)series;
    }

    /// <summary>Registers a gauge read at scrape time (queue sizes, spool bytes).</summary>
    public void Gauge(string name, string help, Func<double> read, params (string Key, string Value)[] labels) =>
        GetSeries(name, help, MetricType.Gauge, labels, () => new GaugeSeries(read));

    /// <summary>Every family registered so far, with its help text, type and label keys (the component contract test reads it).</summary>
    public IReadOnlyList<RegisteredMetric> Registered()
    {
        lock (_lock)
        {
            var list = new List<RegisteredMetric>(_families.Count);
            foreach (var (name, family) in _families)
            {
                list.Add(new RegisteredMetric(name, family.Help, family.Type, family.LabelKeys));
            }

            return list;
        }
    }

    /// <summary>Current value of one series, or 0 when absent (for tests and health decisions).</summary>
    public double Read(string name, params (string Key, string Value)[] labels)
    {
        lock (_lock)
        {
            if (_families.TryGetValue(name, out var family) && family.Series.TryGetValue(FormatLabels(labels), out var s))
            {
                return s.Value;
            }
        }

        return 0;
    }

    /// <summary>Sum over every series of a metric whose labels contain all of <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels)
    {
        double total = 0;
        lock (_lock)
        {
            if (!_families.TryGetValue(name, out var family))
            {
                return 0;
            }

            foreach (var (key, series) in family.Series)
            {
                var match = true;
                foreach (var l in labels)
                {
                    if (!key.Contains($"{l.Key}=\"{Escape(l.Value)}\"", StringComparison.Ordinal))
                    {
                        match = false;
                        break;
                    }
                }

                if (match)
                {
                    total += series.Value;
                }
            }
        }

        return total;
    }

    public void WritePrometheus(StringBuilder output)
    {
        lock (_lock)
        {
            foreach (var (name, family) in _families.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                output.Append("# HELP ").Append(name).Append(' ').Append(family.Help).Append('\n');
                output.Append("# TYPE ").Append(name).Append(' ').Append(family.Type == MetricType.Counter ? "counter" : "gauge").Append('\n');
                foreach (var (labels, series) in family.Series)
                {
                    output.Append(name).Append(labels).Append(' ')
                        .Append(series.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }
    }

    private ISeries GetSeries(string name, string help, MetricType type, (string Key, string Value)[] labels, Func<ISeries> create)
    {
        var key = FormatLabels(labels);
        lock (_lock)
        {
            if (!_families.TryGetValue(name, out var family))
            {
                family = new Family(help, type, LabelKeys(labels));
                _families[name] = family;
            }

            if (!family.Series.TryGetValue(key, out var series))
            {
                series = create();
                family.Series[key] = series;
            }

            return series;
        }
    }

    private static string FormatLabels((string Key, string Value)[] labels)
    {
        if (labels.Length == 0)
        {
            return string.Empty;
        }

        var sb = new StringBuilder("{");
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(labels[i].Key).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
        }

        return sb.Append('}').ToString();
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string[] LabelKeys((string Key, string Value)[] labels)
    {
        var keys = new string[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            keys[i] = labels[i].Key;
        }

        return keys;
    }

    private sealed record Family(string Help, MetricType Type, string[] LabelKeys)
    {
        public Dictionary<string, ISeries> Series { get; } = new(StringComparer.Ordinal);
    }

    private sealed class GaugeSeries(Func<double> read) : ISeries
    {
        public double Value => read();
    }
}

internal interface ISeries
{
    double Value { get; }
}

public sealed class Counter : ISeries
{
    private long _value;

    public long Count => Interlocked.Read(ref _value);

    double ISeries.Value => Count;

    public void Add(long delta) => Interlocked.Add(ref _value, delta);

    public void Increment() => Interlocked.Increment(ref _value);
}
