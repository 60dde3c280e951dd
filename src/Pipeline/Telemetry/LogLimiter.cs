namespace Collector.Pipeline.Telemetry;

/// <summary>
/// Decides whether a repeated log line is written, so that an outage logs a few lines rather than
/// one per batch: a key is let through once per <c>interval</c> (<see cref="Timeout.InfiniteTimeSpan"/>:
/// once, for as long as it is remembered). At most <c>maxKeys</c> distinct keys are remembered; when
/// that many are, all are forgotten (each logs again once). Thread-safe.
/// </summary>
internal sealed class LogLimiter(TimeSpan interval, int maxKeys = int.MaxValue)
{
    private readonly Dictionary<string, (long NextMs, int Suppressed)> _keys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>True when the line for <paramref name="key"/> should be written; <paramref name="suppressed"/> is how many were held back since the last one.</summary>
    public bool TryLog(string key, out int suppressed)
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            if (_keys.Count >= maxKeys)
            {
                _keys.Clear();
            }

            if (_keys.TryGetValue(key, out var entry) && now < entry.NextMs)
            {
                _keys[key] = (entry.NextMs, entry.Suppressed + 1);
                suppressed = 0;
                return false;
            }

            suppressed = entry.Suppressed;
            _keys[key] = (interval == Timeout.InfiniteTimeSpan ? long.MaxValue : now + (long)interval.TotalMilliseconds, 0);
            return true;
        }
    }
}
