using System.Threading.Channels;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Pipeline.Graph;

/// <summary>
/// The door of one pipeline: admission checks, then a bounded channel whose single reader
/// drives the processor chain. A full channel makes receivers wait up to submit_timeout, then
/// refuse (UNAVAILABLE / 503 + Retry-After) so that the client's SDK retries.
/// </summary>
internal sealed class PipelineEntry<T> : IPipelineEntry<T>
    where T : class, IMessage<T>
{
    private static readonly TimeSpan RefusalRetryAfter = TimeSpan.FromSeconds(1);

    private readonly Channel<Batch<T>> _channel;
    private readonly IConsumer<T> _first;
    private readonly IReadOnlyList<IAdmissionControl> _admission;
    private readonly bool _durable;
    private readonly TimeSpan _submitTimeout;
    private readonly Serilog.ILogger _logger;
    private readonly Counter _refused;
    private readonly Counter _failed;
    private Task _loop = Task.CompletedTask;

    public PipelineEntry(
        PipelineId id,
        PipelineConfig config,
        IConsumer<T> first,
        IReadOnlyList<IAdmissionControl> admission,
        bool durable,
        SelfMetrics metrics,
        Serilog.ILogger logger)
    {
        Id = id;
        _first = first;
        _admission = admission;
        _durable = durable;
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

    public void Start() => _loop = Task.Run(RunAsync);

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

        DeliveryAck? ack = null;
        if (_durable)
        {
            ack = new DeliveryAck();
            batch.Acks = [ack];
        }

        var itemCount = batch.ItemCount;
        if (!_channel.Writer.TryWrite(batch) && !await WaitAndWriteAsync(batch, cancellationToken))
        {
            _refused.Add(itemCount);
            return SubmitResult.Refused("pipeline is full", RefusalRetryAfter);
        }

        if (ack is null)
        {
            return SubmitResult.Accepted;
        }

        // Write-ahead: acknowledge only once every exporter has made the data durable.
        var failure = await ack.Task.WaitAsync(cancellationToken);
        return failure is null ? SubmitResult.Accepted : SubmitResult.Refused(failure, RefusalRetryAfter);
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

    /// <summary>Stops taking data and waits until everything already taken has gone down the chain.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken);
    }
}
