using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.MemoryLimiter;

/// <summary>
/// Measures memory every check_interval. Above the soft limit the pipeline door refuses new
/// data (the client gets UNAVAILABLE / 503 and retries); above the hard limit a GC is forced.
/// Refusal happens at admission, not inside the chain, so nothing already accepted is dropped.
/// </summary>
internal sealed class MemoryLimiterProcessor<T>(MemoryGauge gauge, IConsumer<T> next) : IProcessor<T>, IAdmissionControl
    where T : class, IMessage<T>
{
    public bool MutatesData => false;

    public string? CheckAdmission(long incomingBytes) => gauge.CheckAdmission(incomingBytes);

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken) => next.ConsumeAsync(batch, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => gauge.StartAsync();

    public Task ShutdownAsync(CancellationToken cancellationToken) => gauge.StopAsync();
}

internal sealed class MemoryGauge
{
    private readonly MemoryLimiterConfig _config;
    private readonly Func<long> _readUsedBytes;
    private readonly Serilog.ILogger _logger;
    private readonly Counter _refusedRequests;
    private readonly Counter _forcedGcs;
    private readonly CancellationTokenSource _stop = new();
    private readonly long _hardLimit;
    private readonly long _softLimit;
    private Task _loop = Task.CompletedTask;
    private int _started;
    private volatile bool _overSoftLimit;

    public MemoryGauge(ComponentContext context, MemoryLimiterConfig config, Func<long> readUsedBytes)
    {
        _config = config;
        _readUsedBytes = readUsedBytes;
        _logger = context.Logger;
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        const long mib = 1024 * 1024;
        _hardLimit = config.LimitMib > 0 ? config.LimitMib * mib : available * config.LimitPercentage / 100;
        var spike = config.LimitMib > 0
            ? (config.SpikeLimitMib > 0 ? config.SpikeLimitMib * mib : _hardLimit / 5)
            : available * config.SpikeLimitPercentage / 100;
        _softLimit = _hardLimit - spike;
        var label = ("processor", context.Id.ToString());
        _refusedRequests = context.Metrics.Counter("collector_processor_memory_limiter_refused_requests_total", "Requests refused because memory use was above the soft limit.", label);
        _forcedGcs = context.Metrics.Counter("collector_processor_memory_limiter_forced_gc_total", "Garbage collections forced above the hard limit.", label);
        context.Metrics.Gauge("collector_process_memory_used_bytes", "Managed memory in use as seen by the memory limiter.", () => _readUsedBytes(), label);
    }

    public long SoftLimitBytes => _softLimit;

    public string? CheckAdmission(long incomingBytes)
    {
        if (!_overSoftLimit)
        {
            return null;
        }

        _refusedRequests.Increment();
        return "memory limit exceeded";
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
        if (used >= _hardLimit)
        {
            _forcedGcs.Increment();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            used = _readUsedBytes();
        }

        var over = used >= _softLimit;
        if (over != _overSoftLimit)
        {
            _overSoftLimit = over;
            _logger.Warning(over ? "Memory use {UsedMiB} MiB is above the soft limit {SoftMiB} MiB: refusing data" : "Memory use {UsedMiB} MiB is back below the soft limit {SoftMiB} MiB: accepting data", used >> 20, _softLimit >> 20);
        }
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_config.CheckInterval);
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
