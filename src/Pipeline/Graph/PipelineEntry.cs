using System.Threading.Channels;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Pipeline.Graph;

/// <summary>
/// The door of one pipeline: admission checks, then (with <c>durability</c>) the commit to the
/// door's write-ahead log, then a bounded channel whose single reader drives the processor chain.
/// A full channel makes receivers wait up to submit_timeout, then refuse (UNAVAILABLE / 503 +
/// Retry-After) so that the client's SDK retries. A durable door answers right after the commit
/// and replays what the previous run left in its log when it starts.
/// </summary>
internal sealed class PipelineEntry<T> : IPipelineEntry<T>
    where T : class, IMessage<T>
{
    private static readonly TimeSpan RefusalRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>How long replay waits before asking a refusing gate again (shorter than a client's retry: replay is local).</summary>
    private static readonly TimeSpan ReplayRefusedPause = TimeSpan.FromMilliseconds(100);

    private readonly Channel<Batch<T>> _channel;
    private readonly IConsumer<T> _first;
    private readonly IReadOnlyList<IAdmissionControl> _admission;
    private readonly bool _durable;
    private readonly IngressLog<T>? _log;
    private readonly TimeSpan _submitTimeout;
    private readonly Serilog.ILogger _logger;
    private readonly Counter _refused;
    private readonly Counter _failed;

    /// <summary>Set when the door closes (drain): a replay waiting on a refusing gate stops.</summary>
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private Task _replay = Task.CompletedTask;

    public PipelineEntry(
        PipelineId id,
        PipelineConfig config,
        IConsumer<T> first,
        IReadOnlyList<IAdmissionControl> admission,
        bool durable,
        SelfMetrics metrics,
        Serilog.ILogger logger,
        IngressLog<T>? log = null)
    {
        Id = id;
        _first = first;
        _admission = admission;
        _log = log;

        // A durable door makes write_ahead exporters' answer acks moot: its log already holds the request.
        _durable = durable && log is null;
        _submitTimeout = config.SubmitTimeout;
        _logger = logger;
        _channel = Channel.CreateBounded<Batch<T>>(new BoundedChannelOptions(config.QueueSize)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var item = SignalOps<T>.Instance.Signal.ItemName();
        var label = ("pipeline", id.ToString());
        _refused = metrics.Counter($"collector_pipeline_refused_{item}_total", "Items refused at the pipeline door (backpressure or admission).", label);
        _failed = metrics.Counter($"collector_pipeline_failed_{item}_total", "Items lost to an unexpected processor error.", label);
        metrics.Gauge("collector_pipeline_queue_size", "Batches waiting in the pipeline's input channel.", () => _channel.Reader.Count, label);
        metrics.Gauge("collector_pipeline_queue_capacity", "Capacity of the pipeline's input channel.", () => config.QueueSize, label);
    }

    public PipelineId Id { get; }

    public void Start()
    {
        _loop = Task.Run(RunAsync);
        if (_log is not null)
        {
            _replay = Task.Run(() => _log.ReplayAsync(WriteReplayedAsync));
        }
    }

    public async ValueTask<SubmitResult> SubmitAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        foreach (var gate in _admission)
        {
            var reason = gate.CheckAdmission(batch.ByteSize);
            if (reason is not null)
            {
                _refused.Add(batch.ItemCount);
                return SubmitResult.Refused(reason, RefusalRetryAfter);
            }
        }

        var itemCount = batch.ItemCount;
        IngressEntry? logged = null;
        DeliveryAck? ack = null;
        if (_log is not null)
        {
            logged = _log.TryAppend(batch, out var refusal);
            if (logged is null)
            {
                _refused.Add(itemCount);
                return SubmitResult.Refused(refusal!, RefusalRetryAfter);
            }

            batch.Acks = [logged.Ack];
        }
        else if (_durable)
        {
            ack = new DeliveryAck();
            batch.Acks = [ack];
        }

        if (!_channel.Writer.TryWrite(batch) && !await WaitAndWriteAsync(batch, cancellationToken))
        {
            _refused.Add(itemCount);
            logged?.Withdraw();
            return SubmitResult.Refused("pipeline is full", RefusalRetryAfter);
        }

        if (ack is null)
        {
            return SubmitResult.Accepted;
        }

        // Write-ahead exporters: acknowledge only once every exporter has made the data durable.
        string? failure;
        try
        {
            failure = await ack.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left after the pipeline took its data: it is accepted (and counted so) all the same.
            return SubmitResult.Accepted;
        }

        return failure is null ? SubmitResult.Accepted : SubmitResult.Refused(failure, RefusalRetryAfter);
    }

    /// <summary>
    /// Replay hands each entry of the previous run to the chain as a fresh request would go: it waits
    /// while an admission gate refuses (a full exporter queue, the memory limit) as a client would be
    /// told to, without counting refusals; false once the door closed.
    /// </summary>
    private async ValueTask<bool> WriteReplayedAsync(Batch<T> batch)
    {
        try
        {
            while (AnyGateRefuses())
            {
                if (!await WaitBeforeReplayAsync())
                {
                    return false;
                }
            }

            await _channel.Writer.WriteAsync(batch);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    private bool AnyGateRefuses()
    {
        foreach (var gate in _admission)
        {
            if (gate.IsRefusing)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One refusal's pause (the Retry-After a client would get), cut short when the door closes; false when it closed.</summary>
    private async ValueTask<bool> WaitBeforeReplayAsync()
    {
        await Task.WhenAny(_closed.Task, Task.Delay(ReplayRefusedPause));
        return !_closed.Task.IsCompleted;
    }

    private async ValueTask<bool> WaitAndWriteAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_submitTimeout);
        try
        {
            await _channel.Writer.WriteAsync(batch, timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var batch))
            {
                try
                {
                    await _first.ConsumeAsync(batch, CancellationToken.None);
                }
                catch (Exception e)
                {
                    // A processor bug must not stop the pipeline: count the loss and carry on.
                    _failed.Add(batch.ItemCount);
                    batch.FailAcks("internal error");
                    _logger.Error(e, "Pipeline {Pipeline} failed to process a batch of {Items} items", Id, batch.ItemCount);
                }
            }
        }
    }

    /// <summary>Stops taking data (and replaying) and waits until everything already taken has gone down the chain.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        _closed.TrySetResult();
        await _replay.WaitAsync(cancellationToken);
        await _loop.WaitAsync(cancellationToken);
    }
}
