using System.Globalization;

namespace Collector.Pipeline.Configuration;

/// <summary>Go-style durations as the OpenTelemetry Collector writes them: 500ms, 1s, 1m30s, 2h, 250us, 100ns.</summary>
public static class Duration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        if (span is "0")
        {
            return true;
        }

        double totalTicks = 0;
        var i = 0;
        while (i < span.Length)
        {
            var start = i;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(span[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            var unitStart = i;
            while (i < span.Length && char.IsAsciiLetter(span[i]) || (i < span.Length && span[i] == 'µ'))
            {
                i++;
            }

            double ticksPerUnit = span[unitStart..i] switch
            {
                "ns" => 0.01,
                "us" or "µs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => -1,
            };
            if (ticksPerUnit < 0)
            {
                return false;
            }

            totalTicks += number * ticksPerUnit;
        }

        if (totalTicks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)totalTicks);
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalMilliseconds < 1000 ? $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms" : $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
}
