namespace Collector.Pipeline;

/// <summary>The three OTLP signals; every pipeline carries exactly one.</summary>
public enum Signal
{
    Traces,
    Metrics,
    Logs,
}

public static class SignalNames
{
    public static string ToConfigName(this Signal signal) => signal switch
    {
        Signal.Traces => "traces",
        Signal.Metrics => "metrics",
        Signal.Logs => "logs",
        _ => throw new ArgumentOutOfRangeException(nameof(signal)),
    };

    /// <summary>Item noun used in self-metric names (collector_receiver_accepted_spans_total, ...).</summary>
    public static string ItemName(this Signal signal) => signal switch
    {
        Signal.Traces => "spans",
        Signal.Metrics => "metric_points",
        Signal.Logs => "log_records",
        _ => throw new ArgumentOutOfRangeException(nameof(signal)),
    };

    public static bool TryParse(string text, out Signal signal)
    {
        switch (text)
        {
            case "traces": signal = Signal.Traces; return true;
            case "metrics": signal = Signal.Metrics; return true;
            case "logs": signal = Signal.Logs; return true;
            default: signal = default; return false;
        }
    }
}
