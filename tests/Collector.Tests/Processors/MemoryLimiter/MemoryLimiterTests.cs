using Collector.Pipeline.Graph;
using Collector.Pipeline.Telemetry;
using Collector.Processors.MemoryLimiter;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Processors;

public sealed class MemoryLimiterTests
{
    /// <summary>limit_mib is set in these tests, so the budget does not matter.</summary>
    private static readonly MemoryBudget AnyBudget = new(1L << 30, MemorySource.PhysicalMemory);

    [Test]
    public void Refuses_above_the_soft_limit_and_accepts_again_below_it()
    {
        long used = 0;
        var metrics = new SelfMetrics();
        var gauge = MemoryLimiterFactory.CreateGate(TestData.Context("memory_limiter", metrics), new MemoryLimiterConfig { LimitMib = 100, SpikeLimitMib = 20 }, AnyBudget, () => used);

        used = 79L << 20;
        gauge.Check();
        Assert.That(gauge.CheckAdmission(1000), Is.Null);

        used = 81L << 20;
        gauge.Check();
        Assert.That(gauge.CheckAdmission(1000), Does.Contain("memory"));
        Assert.That(metrics.Read("collector_processor_memory_limiter_refused_requests_total", ("processor", "memory_limiter")), Is.EqualTo(1));

        used = 50L << 20;
        gauge.Check();
        Assert.That(gauge.CheckAdmission(1000), Is.Null);
    }

    [Test]
    public void Forces_a_collection_above_the_hard_limit()
    {
        var metrics = new SelfMetrics();
        var readings = new Queue<long>([120L << 20, 10L << 20]);
        var gauge = MemoryLimiterFactory.CreateGate(TestData.Context("memory_limiter", metrics), new MemoryLimiterConfig { LimitMib = 100 }, AnyBudget, () => readings.Count > 0 ? readings.Dequeue() : 0);

        gauge.Check();

        Assert.That(metrics.Read("collector_processor_memory_limiter_forced_gc_total", ("processor", "memory_limiter")), Is.EqualTo(1));
        Assert.That(gauge.CheckAdmission(1), Is.Null, "the reading after the GC was below the soft limit");
    }

    [Test]
    public void Config_errors_are_all_reported()
    {
        var errors = new Collector.Pipeline.Configuration.ConfigErrors();
        new MemoryLimiterConfig { CheckInterval = TimeSpan.Zero, LimitMib = 10, SpikeLimitMib = 10 }.Validate(errors);
        Assert.That(errors.All, Has.Count.EqualTo(2));
        Assert.That(errors.All, Has.Some.StartsWith("check_interval"));
        Assert.That(errors.All, Has.Some.StartsWith("spike_limit_mib"));
    }
}
