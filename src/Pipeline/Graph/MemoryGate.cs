using System.Globalization;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;

namespace Collector.Pipeline.Graph;

/// <summary>What bounds the memory the GC may use.</summary>
internal enum MemorySource
{
    /// <summary>A heap hard limit configured for the runtime (DOTNET_GCHeapHardLimit[Percent], System.GC.HeapHardLimit[Percent]).</summary>
    GCHeapHardLimit,

    /// <summary>The container's memory limit: the runtime then sets a heap hard limit itself (75% of the cgroup limit).</summary>
    Cgroup,

    /// <summary>Neither: the machine's physical memory.</summary>
    PhysicalMemory,
}

/// <summary>The memory the process may use, as the GC sees it, and where that figure comes from.</summary>
internal readonly record struct MemoryBudget(long TotalBytes, MemorySource Source)
{
    private static readonly string[] HeapHardLimitVariables =
    [
        "DOTNET_GCHeapHardLimit", "DOTNET_GCHeapHardLimitPercent", "COMPlus_GCHeapHardLimit", "COMPlus_GCHeapHardLimitPercent",
    ];

    private static readonly string[] HeapHardLimitProperties = ["System.GC.HeapHardLimit", "System.GC.HeapHardLimitPercent"];

    public string SourceName => Source switch
    {
        MemorySource.GCHeapHardLimit => "GCHeapHardLimit",
        MemorySource.Cgroup => "cgroup",
        _ => "physical memory",
    };

    /// <summary>This process's budget: the GC's TotalAvailableMemoryBytes, which honours the heap hard limit and the cgroup limit.</summary>
    public static MemoryBudget OfThisProcess()
    {
        var runtimeLimit = GC.GetConfigurationVariables().TryGetValue("GCHeapHardLimit", out var value) ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
        return Classify(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, HeapHardLimitConfigured(Environment.GetEnvironmentVariable, AppContext.GetData), runtimeLimit);
    }

    /// <summary>
    /// TotalAvailableMemoryBytes is the heap hard limit when the GC has one, else physical memory.
    /// The runtime gives itself a heap hard limit only when it finds a cgroup memory limit, so a
    /// hard limit nobody configured is the container's (checked in a 512 MiB cgroup: 384 MiB).
    /// </summary>
    internal static MemoryBudget Classify(long totalAvailableBytes, bool heapHardLimitConfigured, long runtimeHeapHardLimitBytes) =>
        new(totalAvailableBytes, heapHardLimitConfigured ? MemorySource.GCHeapHardLimit : runtimeHeapHardLimitBytes > 0 ? MemorySource.Cgroup : MemorySource.PhysicalMemory);

    internal static bool HeapHardLimitConfigured(Func<string, string?> getEnv, Func<string, object?> getRuntimeProperty)
    {
        foreach (var name in HeapHardLimitVariables)
        {
            if (getEnv(name) is { Length: > 0 } text && text.Trim() != "0")
            {
                return true;
            }
        }

        foreach (var name in HeapHardLimitProperties)
        {
            if (getRuntimeProperty(name) is { } setting && Convert.ToString(setting, CultureInfo.InvariantCulture) is { Length: > 0 } text && text != "0")
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The gate's two thresholds in bytes of managed heap.</summary>
internal readonly record struct MemoryLimits(long HardBytes, long SoftBytes)
{
    private const long Mib = 1024 * 1024;

    /// <summary>limit_mib (and spike_limit_mib, default a fifth of it) when set, else the percentages of the budget.</summary>
    public static MemoryLimits From(MemoryLimitSettings settings, MemoryBudget budget)
    {
        var hard = settings.LimitMib > 0 ? settings.LimitMib * Mib : budget.TotalBytes * settings.LimitPercentage / 100;
        var spike = settings.LimitMib > 0
            ? (settings.SpikeLimitMib > 0 ? settings.SpikeLimitMib * Mib : hard / 5)
            : budget.TotalBytes * settings.SpikeLimitPercentage / 100;
        return new MemoryLimits(hard, hard - spike);
    }
}

/// <summary>
/// Measures memory every check_interval. Above the soft limit the pipeline doors it guards refuse
/// new data (the client gets UNAVAILABLE / 503 and retries); above the hard limit a GC is forced.
/// Refusal happens at admission, not inside the chain, so nothing already accepted is dropped.
/// The memory_limiter processor and the service's default memory limit (service.memory_limit)
/// are each one of these; the owner names the counters.
/// </summary>
internal sealed class MemoryGate : IMemoryAdmission
{
    private readonly TimeSpan _checkInterval;
    private readonly Func<long> _readUsedBytes;
    private readonly Serilog.ILogger _logger;
    private readonly Counter _refusedRequests;
    private readonly Counter _forcedGcs;
    private readonly string _refusal;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _started;
    private volatile bool _overSoftLimit;

    public MemoryGate(MemoryLimitSettings settings, MemoryBudget budget, Func<long> readUsedBytes, Counter refusedRequests, Counter forcedGcs, Serilog.ILogger logger, string refusal)
    {
        _checkInterval = settings.CheckInterval;
        _readUsedBytes = readUsedBytes;
        _refusedRequests = refusedRequests;
        _forcedGcs = forcedGcs;
        _logger = logger;
        _refusal = refusal;
        Limits = MemoryLimits.From(settings, budget);
        var source = settings.LimitMib > 0
            ? "limit_mib"
            : string.Create(CultureInfo.InvariantCulture, $"{settings.LimitPercentage - settings.SpikeLimitPercentage}% and {settings.LimitPercentage}% of {budget.TotalBytes >> 20} MiB available, from {budget.SourceName}");
        Description = string.Create(CultureInfo.InvariantCulture, $"refuses data above {Limits.SoftBytes >> 20} MiB of managed heap and forces a GC above {Limits.HardBytes >> 20} MiB ({source})");
    }

    public MemoryLimits Limits { get; }

    /// <summary>The thresholds and where they came from, for the start log.</summary>
    public string Description { get; }

    public bool IsRefusing => _overSoftLimit;

    public string? CheckAdmission(long incomingBytes)
    {
        if (!_overSoftLimit)
        {
            return null;
        }

        _refusedRequests.Increment();
        return _refusal;
    }

    public static long ManagedHeapBytes() => GC.GetTotalMemory(false);

    public Task StartAsync()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(LoopAsync);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    /// <summary>One measurement: refuse above the soft limit, force a GC above the hard one.</summary>
    internal void Check()
    {
        var used = _readUsedBytes();
        if (used >= Limits.HardBytes)
        {
            _forcedGcs.Increment();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            used = _readUsedBytes();
        }

        var over = used >= Limits.SoftBytes;
        if (over != _overSoftLimit)
        {
            _overSoftLimit = over;
            _logger.Warning(over ? "Memory use {UsedMiB} MiB is above the soft limit {SoftMiB} MiB: refusing data" : "Memory use {UsedMiB} MiB is back below the soft limit {SoftMiB} MiB: accepting data", used >> 20, Limits.SoftBytes >> 20);
        }
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_checkInterval);
        try
        {
            do
            {
                Check();
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}

/// <summary>The self-metrics of the service's default memory gate (service.memory_limit); the root README lists them.</summary>
internal static class ServiceMemoryLimitMetrics
{
    public static readonly MetricInfo Refused = new("collector_service_memory_limit_refused_requests_total", MetricType.Counter, "{requests}", "Requests refused at a pipeline door by service.memory_limit (managed memory above its soft limit).");

    public static readonly MetricInfo ForcedGc = new("collector_service_memory_limit_forced_gc_total", MetricType.Counter, "{collections}", "Garbage collections service.memory_limit forced above its hard limit.");

    public static readonly MetricInfo Used = new("collector_service_memory_limit_used_bytes", MetricType.Gauge, "By", "Managed memory in use as seen by service.memory_limit.");

    public static readonly MetricInfo SoftLimit = new("collector_service_memory_limit_soft_limit_bytes", MetricType.Gauge, "By", "service.memory_limit's soft limit: above it pipelines without memory_limiter refuse data.");

    public static IReadOnlyList<MetricInfo> All { get; } = [Refused, ForcedGc, Used, SoftLimit];
}
