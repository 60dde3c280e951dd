using Collector.Pipeline.Configuration;
using Collector.Pipeline.Graph;
using Collector.Pipeline.Telemetry;

namespace Collector.Tests.Core;

/// <summary>Where the default memory limit comes from and what it computes to (service.memory_limit and memory_limiter share it).</summary>
public sealed class MemoryGateTests
{
    private const long Mib = 1024 * 1024;

    [Test]
    public void A_configured_heap_hard_limit_is_named_as_the_source()
    {
        var budget = MemoryBudget.Classify(256 * Mib, heapHardLimitConfigured: true, runtimeHeapHardLimitBytes: 256 * Mib);

        Assert.That(budget, Is.EqualTo(new MemoryBudget(256 * Mib, MemorySource.GCHeapHardLimit)));
        Assert.That(budget.SourceName, Is.EqualTo("GCHeapHardLimit"));
    }

    [Test]
    public void A_heap_hard_limit_nobody_configured_is_the_containers()
    {
        // What the runtime reports in a 512 MiB cgroup: its own heap hard limit of 75%, 384 MiB.
        var budget = MemoryBudget.Classify(384 * Mib, heapHardLimitConfigured: false, runtimeHeapHardLimitBytes: 384 * Mib);

        Assert.That(budget, Is.EqualTo(new MemoryBudget(384 * Mib, MemorySource.Cgroup)));
        Assert.That(budget.SourceName, Is.EqualTo("cgroup"));
    }

    [Test]
    public void Without_either_the_budget_is_physical_memory()
    {
        var budget = MemoryBudget.Classify(24L * 1024 * Mib, heapHardLimitConfigured: false, runtimeHeapHardLimitBytes: 0);

        Assert.That(budget, Is.EqualTo(new MemoryBudget(24L * 1024 * Mib, MemorySource.PhysicalMemory)));
        Assert.That(budget.SourceName, Is.EqualTo("physical memory"));
    }

    [TestCase("DOTNET_GCHeapHardLimit", "0x10000000", true)]
    [TestCase("DOTNET_GCHeapHardLimitPercent", "0x32", true)]
    [TestCase("COMPlus_GCHeapHardLimit", "10000000", true)]
    [TestCase("DOTNET_GCHeapHardLimit", "0", false)]
    [TestCase("DOTNET_GCHeapHardLimit", "", false)]
    [TestCase("DOTNET_gcServer", "1", false)]
    public void The_heap_hard_limit_counts_as_configured_from_the_environment(string name, string value, bool configured)
    {
        Assert.That(MemoryBudget.HeapHardLimitConfigured(n => n == name ? value : null, _ => null), Is.EqualTo(configured));
    }

    [Test]
    public void The_heap_hard_limit_counts_as_configured_from_runtimeconfig()
    {
        Assert.Multiple(() =>
        {
            Assert.That(MemoryBudget.HeapHardLimitConfigured(_ => null, n => n == "System.GC.HeapHardLimitPercent" ? 50 : null), Is.True);
            Assert.That(MemoryBudget.HeapHardLimitConfigured(_ => null, n => n == "System.GC.HeapHardLimit" ? 268435456L : null), Is.True);
            Assert.That(MemoryBudget.HeapHardLimitConfigured(_ => null, _ => null), Is.False);
        });
    }

    [Test]
    public void This_process_budget_is_what_the_gc_reports()
    {
        var budget = MemoryBudget.OfThisProcess();

        Assert.That(budget.TotalBytes, Is.EqualTo(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes));
        Assert.That(budget.TotalBytes, Is.GreaterThan(0));
    }

    [Test]
    public void The_default_percentages_are_memory_limiters_80_and_20()
    {
        var limits = MemoryLimits.From(new ServiceMemoryLimitConfig(), new MemoryBudget(1000 * Mib, MemorySource.Cgroup));

        Assert.That(limits, Is.EqualTo(new MemoryLimits(800 * Mib, 600 * Mib)));
    }

    [Test]
    public void Limit_mib_wins_over_the_percentages_and_its_spike_defaults_to_a_fifth()
    {
        var budget = new MemoryBudget(1000 * Mib, MemorySource.PhysicalMemory);

        Assert.Multiple(() =>
        {
            Assert.That(MemoryLimits.From(new ServiceMemoryLimitConfig { LimitMib = 100 }, budget), Is.EqualTo(new MemoryLimits(100 * Mib, 80 * Mib)));
            Assert.That(MemoryLimits.From(new ServiceMemoryLimitConfig { LimitMib = 100, SpikeLimitMib = 30 }, budget), Is.EqualTo(new MemoryLimits(100 * Mib, 70 * Mib)));
            Assert.That(MemoryLimits.From(new ServiceMemoryLimitConfig { LimitPercentage = 50, SpikeLimitPercentage = 10 }, budget), Is.EqualTo(new MemoryLimits(500 * Mib, 400 * Mib)));
        });
    }

    [Test]
    public void The_description_states_the_limits_and_where_the_budget_came_from()
    {
        var gate = Gate(new ServiceMemoryLimitConfig(), new MemoryBudget(256 * Mib, MemorySource.GCHeapHardLimit), () => 0, new SelfMetrics());

        Assert.That(gate.Description, Is.EqualTo("refuses data above 153 MiB of managed heap and forces a GC above 204 MiB (60% and 80% of 256 MiB available, from GCHeapHardLimit)"));
    }

    [Test]
    public void Refuses_above_the_soft_limit_counts_and_accepts_again_below_it()
    {
        long used = 0;
        var metrics = new SelfMetrics();
        var gate = Gate(new ServiceMemoryLimitConfig(), new MemoryBudget(100 * Mib, MemorySource.Cgroup), () => used, metrics);

        used = 59 * Mib;
        gate.Check();
        Assert.That(gate.CheckAdmission(1), Is.Null);

        used = 61 * Mib;
        gate.Check();
        Assert.That(gate.CheckAdmission(1), Is.EqualTo("refused for the test"));
        Assert.That(gate.CheckAdmission(1), Is.EqualTo("refused for the test"));
        Assert.That(metrics.Read("refused"), Is.EqualTo(2));

        used = 10 * Mib;
        gate.Check();
        Assert.That(gate.CheckAdmission(1), Is.Null);
        Assert.That(metrics.Read("forced_gc"), Is.Zero);
    }

    private static MemoryGate Gate(MemoryLimitSettings settings, MemoryBudget budget, Func<long> used, SelfMetrics metrics) =>
        new(settings, budget, used, metrics.Counter("refused", "test"), metrics.Counter("forced_gc", "test"), Serilog.Core.Logger.None, "refused for the test");
}
