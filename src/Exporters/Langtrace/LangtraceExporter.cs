using Collector.Pipeline;
using Collector.Pipeline.Export;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Langtrace;

/// <summary>
/// The <c>langtrace</c> exporter: incoming batches are regrouped into one request batch per
/// (resource, scope) of at most batch_size spans (<see cref="LangtraceRequestBatcher"/>), and
/// each request batch goes through the exporter helper (queue, retry, timeout, spool) to
/// <see cref="LangtraceSender"/>. Spans are only read: the encoder writes what Langtrace needs
/// without changing the shared batch, so fan-out need not copy for this exporter.
/// </summary>
internal sealed class LangtraceExporter : IExporter<ResourceSpans>, IAdmissionControl
{
    private readonly ExporterHelper<ResourceSpans> _helper;
    private readonly LangtraceRequestBatcher _batcher;

    /// <summary>Counts up when spans start waiting in an empty batcher, so that the flush loop wakes.</summary>
    private readonly SemaphoreSlim _pending = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lifecycle = new();
    private Task _flushLoop = Task.CompletedTask;
    private Task? _shutdown;

    public LangtraceExporter(ComponentContext context, LangtraceExporterConfig config, IExportSender<ResourceSpans> sender)
    {
        _helper = new ExporterHelper<ResourceSpans>(context, ExporterHelperSettings.From(config), sender);
        _batcher = new LangtraceRequestBatcher(config.BatchSize, config.FlushInterval);
    }

    public bool MutatesData => false;

    public bool RequiresDurableAck => _helper.RequiresDurableAck;

    /// <summary>The helper's gate: a full sending queue refuses at the door (on_full: reject).</summary>
    public string? CheckAdmission(long incomingBytes) => _helper.CheckAdmission(incomingBytes);

    public bool IsRefusing => _helper.IsRefusing;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _helper.StartAsync(cancellationToken);
        lock (_lifecycle)
        {
            if (_shutdown is null && _flushLoop.IsCompleted)
            {
                _flushLoop = Task.Run(FlushLoopAsync, CancellationToken.None);
            }
        }
    }

    public async ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
    {
        var ready = _batcher.Add(batch, out var becamePending);
        if (becamePending && _pending.CurrentCount == 0)
        {
            _pending.Release();
        }

        await HandOnAsync(ready, cancellationToken);
    }

    public Task ShutdownAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            _shutdown ??= ShutdownCoreAsync(cancellationToken);
            return _shutdown;
        }
    }

    private async Task ShutdownCoreAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _flushLoop;
        // What waits for its flush_interval is sent now; the helper then drains its queue within the budget.
        await HandOnAsync(_batcher.Close(), CancellationToken.None);
        await _helper.ShutdownAsync(cancellationToken);
        _stop.Dispose();
    }

    /// <summary>Sends each group once its first span has waited flush_interval.</summary>
    private async Task FlushLoopAsync()
    {
        var stop = _stop.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await HandOnAsync(_batcher.TakeDue(DateTimeOffset.UtcNow, out var nextDue), CancellationToken.None);
                if (nextDue is { } wait)
                {
                    await Task.Delay(wait, stop);
                }
                else
                {
                    await _pending.WaitAsync(stop);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutdown: Close() hands on whatever still waits.
        }
    }

    private async ValueTask HandOnAsync(List<Batch<ResourceSpans>>? batches, CancellationToken cancellationToken)
    {
        if (batches is null)
        {
            return;
        }

        foreach (var batch in batches)
        {
            await _helper.ConsumeAsync(batch, cancellationToken);
        }
    }
}
