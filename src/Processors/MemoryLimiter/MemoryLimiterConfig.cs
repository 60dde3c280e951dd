using Collector.Pipeline.Configuration;

namespace Collector.Processors.MemoryLimiter;

/// <summary>The memory_limiter's keys, defaults and checks are those of every memory gate (<see cref="MemoryLimitSettings"/>).</summary>
public sealed class MemoryLimiterConfig : MemoryLimitSettings
{
}
