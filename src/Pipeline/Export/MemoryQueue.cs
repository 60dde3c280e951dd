using System.Threading.Channels;
using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>
/// The bounded in-memory sending queue (<c>sending_queue.queue_size</c> batches). Nothing in it is
/// durable: acks settle when a batch is taken, a full queue drops (queue_full), and a batch the
/// backend would not take in time is dropped (retries_exhausted, shutdown).
/// </summary>
internal sealed class MemoryQueue<T> : IExportQueue<T>
    where T : class, IMessage<T>
{
    private readonly Channel<QueuedBatch<T>> _channel;
    private readonly ExporterTelemetry _telemetry;
    private readonly ExportStopping _stopping;

    public MemoryQueue(ComponentContext context, SendingQueueConfig config, Signal signal, ExporterTelemetry telemetry, ExportStopping stopping)
    {
        _telemetry = telemetry;
        _stopping = stopping;

        // Wait mode (never DropWrite, whose drops are invisible): Enqueue uses TryWrite, so a full
        // queue is seen, counted and routed to the spool or dropped instead of blocking the caller.
        _channel = Channel.CreateBounded<QueuedBatch<T>>(new BoundedChannelOptions(config.QueueSize)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = config.NumConsumers == 1,
            SingleWriter = false,
        });

        // data_type keeps the series apart when one exporter id serves pipelines of several signals.
        var labels = new[] { ("exporter", telemetry.Exporter), ("data_type", signal.ToConfigName()) };
        var reader = _channel.Reader;
        context.Metrics.Gauge("collector_exporter_queue_size", "batches waiting in the sending queue", () => reader.Count, labels);
        var capacity = config.QueueSize;
        context.Metrics.Gauge("collector_exporter_queue_capacity", "batches the sending queue holds", () => capacity, labels);
    }

    public bool RequiresDurableAck => false;

    public bool ParkInsteadOfRetry => false;

    public ChannelReader<QueuedBatch<T>> Reader => _channel.Reader;

    public void Start()
    {
    }

    public void Enqueue(Batch<T> batch)
    {
        batch.CompleteAcks();
        var refused = Offer(batch);
        if (refused is null)
        {
            return;
        }

        refused.Add(batch.ItemCount);
        if (refused == _telemetry.DroppedQueueFull)
        {
            _telemetry.WarnOnce("queue_full", null, "Exporter {Exporter}: sending queue full, dropping {Items} (logged once, counted always)");
        }
    }

    /// <summary>Queues a fresh batch; returns null when queued, else the reason it was not (shutdown, queue_full), not counted yet.</summary>
    public Telemetry.Counter? Offer(Batch<T> batch)
    {
        if (_stopping.IsStopping)
        {
            return _telemetry.DroppedShutdown;
        }

        if (TryWrite(new QueuedBatch<T>(batch, 0, false, 0)))
        {
            return null;
        }

        // TryWrite also fails once shutdown has completed the writer.
        return _stopping.IsStopping ? _telemetry.DroppedShutdown : _telemetry.DroppedQueueFull;
    }

    public bool TryWrite(QueuedBatch<T> work) => _channel.Writer.TryWrite(work);

    public bool TryTake(bool preferSpooled, out QueuedBatch<T> work) => _channel.Reader.TryRead(out work);

    public ValueTask<bool> WaitForWorkAsync() => _channel.Reader.WaitToReadAsync();

    public void Settle(QueuedBatch<T> work, Delivery delivery) => _telemetry.CountUnspooled(work.Batch.ItemCount, delivery);

    public void Park(QueuedBatch<T> work) => _telemetry.DroppedShutdown.Add(work.Batch.ItemCount);

    public void Leave(QueuedBatch<T> work)
    {
    }

    public void Complete(bool consumersStarted)
    {
        _channel.Writer.TryComplete();
        if (consumersStarted)
        {
            return;
        }

        while (_channel.Reader.TryRead(out var work))
        {
            _telemetry.DroppedShutdown.Add(work.Batch.ItemCount);
        }
    }

    public void Stop()
    {
    }
}
