namespace Collector.Pipeline.Configuration;

/// <summary>
/// The limits of a memory gate (<c>Graph/MemoryGate</c>), as written for the memory_limiter
/// processor and for <c>service.memory_limit</c>: one set of keys, defaults and checks for both.
/// </summary>
public abstract class MemoryLimitSettings : ComponentConfig
{
    /// <summary>How often memory use is measured.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Hard limit in MiB of managed heap; above it a GC is forced. 0 = use limit_percentage.</summary>
    public int LimitMib { get; set; }

    /// <summary>Soft limit = hard limit minus this; above it data is refused. 0 = 20% of the hard limit.</summary>
    public int SpikeLimitMib { get; set; }

    /// <summary>Hard limit as a percentage of the memory available to the process (container limit aware).</summary>
    public int LimitPercentage { get; set; } = 80;

    /// <summary>Spike allowance as a percentage of available memory (used with limit_percentage).</summary>
    public int SpikeLimitPercentage { get; set; } = 20;

    public override void Validate(ConfigErrors errors)
    {
        if (CheckInterval <= TimeSpan.Zero)
        {
            errors.Add("check_interval", "must be > 0");
        }

        if (LimitMib < 0)
        {
            errors.Add("limit_mib", "must be >= 0");
        }

        if (SpikeLimitMib < 0 || (LimitMib > 0 && SpikeLimitMib >= LimitMib))
        {
            errors.Add("spike_limit_mib", "must be >= 0 and below limit_mib");
        }

        if (LimitMib == 0 && LimitPercentage is <= 0 or > 100)
        {
            errors.Add("limit_percentage", "must be in 1..100 when limit_mib is not set");
        }

        if (SpikeLimitPercentage < 0 || (LimitMib == 0 && SpikeLimitPercentage >= LimitPercentage))
        {
            errors.Add("spike_limit_percentage", "must be >= 0 and below limit_percentage");
        }
    }
}

/// <summary>
/// service.memory_limit: the memory gate every pipeline without a memory_limiter processor gets
/// at its door, so that a slow backend makes clients retry instead of growing memory until the
/// process dies (issue 14, loss path 7). On by default.
/// </summary>
public sealed class ServiceMemoryLimitConfig : MemoryLimitSettings
{
    /// <summary>false: pipelines without memory_limiter take data whatever the memory use.</summary>
    public bool Enabled { get; set; } = true;
}
