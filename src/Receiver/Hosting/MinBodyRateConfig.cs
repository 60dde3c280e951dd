using Collector.Pipeline.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Collector.Receiver.Hosting;

/// <summary>
/// <c>min_body_rate</c> of an HTTP receiver: a body that arrives slower than this, after the grace
/// period, is answered 408 (Kestrel's <see cref="KestrelServerLimits.MinRequestBodyDataRate"/>, whose
/// defaults these are). A client dribbling a byte a second would otherwise hold a request open for ever.
/// </summary>
internal sealed class MinBodyRateConfig
{
    /// <summary>Bytes per second, averaged since the grace period began; 0 turns the check off.</summary>
    public int BytesPerSecond { get; set; } = 240;

    /// <summary>How long a body may be slower before the rate is enforced; Kestrel needs more than its 1 s heartbeat.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    public void Validate(ConfigErrors errors)
    {
        if (BytesPerSecond < 0)
        {
            errors.Add("bytes_per_second", "must be 0 (off) or positive");
        }

        if (GracePeriod <= TimeSpan.FromSeconds(1))
        {
            errors.Add("grace_period", "must be longer than 1s (Kestrel checks the rate once a second)");
        }
    }

    public MinDataRate? ToKestrel() => BytesPerSecond == 0 ? null : new MinDataRate(BytesPerSecond, GracePeriod);
}
