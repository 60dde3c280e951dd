using System.Threading.Channels;
using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>
/// The bounded in-memory sending queue: <c>sending_queue.queue_size</c> in the unit of
/// <c>sending_queue.sizer</c> (batches, items or bytes) waiting for a consumer; batches being sent
/// (at most <c>num_consumers</c>) are not counted, whatever the sizer. Nothing in it is durable:
/// answer acks settle when a batch is taken, delivery acks (durable ingress) when it was sent or
/// dropped by rule (queue_full, retries_exhausted) and fail when shutdown drops it. When full,
/// <c>sending_queue.on_full</c> decides: <c>reject</c> (the default) refuses at the pipeline door
/// (<see cref="AdmissionRefusal"/>) and still queues a batch that was admitted before the queue filled;
/// <c>drop</c> drops what does not fit (queue_full).
/// </summary>
internal sealed class MemoryQueue<T> : IExportQueue<T>
    where T : class, IMessage<T>
{
    private readonly Channel<QueuedBatch<T>> _channel;
    private readonly ExporterTelemetry _telemetry;
    private readonly ExportStopping _stopping;
    private readonly QueueSizer _sizer;
    private readonly long _capacity;
    private readonly bool _rejectWhenFull;

    /// <summary>Batches, items or bytes (the sizer's unit) reserved by waiting batches; above the capacity only by overfill.</summary>
    private long _used;

    /// <summary>Bytes of the waiting batches, whatever the sizer (the byte gauge).</summary>
    private long _bytes;

    /// <summary>Batches consumers have taken so far; <see cref="_fullAtTakes"/> is its value when a batch last did not fit.</summary>
    private long _takes;
    private long _fullAtTakes = -1;

    public MemoryQueue(ComponentContext context, SendingQueueConfig config, Signal signal, ExporterTelemetry telemetry, ExportStopping stopping)
    {
        _telemetry = telemetry;
        _stopping = stopping;
        _sizer = config.Sizer;
        _capacity = config.QueueSize;
        _rejectWhenFull = config.OnFull == QueueOnFull.Reject;

        // The bound is the reservation in TryWrite, in every sizer's unit (requests reserve 1 per
        // batch), so that a full queue is seen and counted rather than blocking the caller, and so
        // that on_full: reject can still queue an admitted batch above it (Overfill).
        _channel = Channel.CreateUnbounded<QueuedBatch<T>>(new UnboundedChannelOptions
        {
            // Never single-reader: that unbounded channel has no Count, which the batches gauge reads.
            SingleReader = false,
            SingleWriter = false,
        });

        // data_type keeps the series apart when one exporter id serves pipelines of several signals.
        var labels = new[] { ("exporter", telemetry.Exporter), ("data_type", signal.ToConfigName()) };
        var reader = _channel.Reader;
        context.Metrics.Gauge("collector_exporter_queue_size", "batches waiting in the sending queue", () => reader.Count, labels);
        context.Metrics.Gauge("collector_exporter_queue_bytes", "bytes of the batches waiting in the sending queue", () => Volatile.Read(ref _bytes), labels);
        var capacity = _capacity;
        context.Metrics.Gauge("collector_exporter_queue_capacity", "sending_queue.queue_size, in the unit of sending_queue.sizer (batches, items or bytes)", () => capacity, labels);
    }

    public bool RequiresDurableAck => false;

    public bool ParkInsteadOfRetry => false;

    public ChannelReader<QueuedBatch<T>> Reader => _channel.Reader;

    /// <summary><c>on_full: reject</c>: a full queue refuses at the pipeline door and never drops what was admitted.</summary>
    public bool RejectsWhenFull => _rejectWhenFull;

    /// <summary>
    /// At (or, by overfill, above) <c>queue_size</c> in the sizer's unit, or a batch did not fit and no
    /// consumer has taken one since (items and bytes fill up unevenly: 900 KiB waiting in a 1 MiB queue
    /// is full for a batch of 300 KiB).
    /// </summary>
    public bool IsFull => Volatile.Read(ref _used) >= _capacity || Volatile.Read(ref _fullAtTakes) == Volatile.Read(ref _takes);

    /// <summary>The pipeline door's question (no spool behind this queue): refused while full under <c>on_full: reject</c>.</summary>
    public AdmissionRefusal? AdmissionRefusal() => _rejectWhenFull && IsFull ? _telemetry.QueueFull : null;

    public void Start()
    {
    }

    public void Enqueue(Batch<T> batch)
    {
        batch.SettleTaken();
        var refused = Offer(batch);
        if (refused is null)
        {
            return;
        }

        // on_full: reject: admitted before the queue filled, so kept (its acks settle when it is sent).
        if (refused == _telemetry.DroppedQueueFull && Overfill(batch))
        {
            return;
        }

        refused.Add(batch.ItemCount);
        if (refused != _telemetry.DroppedQueueFull)
        {
            batch.FailDelivery("exporter is shutting down");
            return;
        }

        batch.SettleDelivered();

        if (IsLargerThanQueue(batch))
        {
            _telemetry.WarnOnce("queue_too_small", null, "Exporter {Exporter}: a batch is larger than the whole sending queue (sending_queue.queue_size), dropping {Items}; bound the batches (batch processor send_batch_max_size) or raise queue_size (logged once, counted always as queue_full)");
        }
        else
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

    /// <summary>
    /// <c>on_full: reject</c>: queues a fresh batch that found the queue full although it was admitted
    /// (it was in the pipeline when the queue filled), above <c>queue_size</c> rather than dropping
    /// it; false under <c>on_full: drop</c> or once shutdown completed the queue. Counted as overfilled.
    /// </summary>
    public bool Overfill(Batch<T> batch)
    {
        if (!_rejectWhenFull || !TryWrite(new QueuedBatch<T>(batch, 0, false, 0), overfill: true))
        {
            return false;
        }

        _telemetry.Overfilled.Add(batch.ItemCount);
        return true;
    }

    /// <summary>
    /// Queues <paramref name="work"/> when it fits under queue_size (or, with <paramref name="overfill"/>,
    /// in any case); false when the queue is full (or completed).
    /// </summary>
    public bool TryWrite(QueuedBatch<T> work, bool overfill = false)
    {
        // Measuring a decoded batch of unknown size walks it: only the byte sizer needs that.
        var bytes = _sizer == QueueSizer.Bytes ? work.Batch.MeasureByteSize() : work.Batch.ByteSize;
        var size = _sizer switch
        {
            QueueSizer.Items => work.Batch.ItemCount,
            QueueSizer.Bytes => bytes,
            _ => 1,
        };
        if (overfill)
        {
            Interlocked.Add(ref _used, size);
        }
        else if (!TryReserve(size))
        {
            Volatile.Write(ref _fullAtTakes, Volatile.Read(ref _takes));
            return false;
        }

        // Counted before the write, so that a consumer taking it at once never drives the gauge below zero.
        Interlocked.Add(ref _bytes, bytes);
        if (_channel.Writer.TryWrite(work with { QueuedSize = size, QueuedBytes = bytes }))
        {
            return true;
        }

        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Add(ref _used, -size);
        return false;
    }

    public bool TryTake(bool preferSpooled, out QueuedBatch<T> work)
    {
        if (!_channel.Reader.TryRead(out work))
        {
            return false;
        }

        Release(work);
        return true;
    }

    public ValueTask<bool> WaitForWorkAsync() => _channel.Reader.WaitToReadAsync();

    public void Settle(QueuedBatch<T> work, Delivery delivery) => _telemetry.SettleUnspooled(work.Batch, delivery);

    public void Park(QueuedBatch<T> work)
    {
        _telemetry.DroppedShutdown.Add(work.Batch.ItemCount);
        work.Batch.FailDelivery("exporter is shutting down");
    }

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

        while (TryTake(false, out var work))
        {
            Park(work);
        }
    }

    public void Stop()
    {
    }

    /// <summary>Takes <paramref name="size"/> of the room left; false (nothing taken) when it does not fit.</summary>
    private bool TryReserve(long size)
    {
        var used = Volatile.Read(ref _used);
        while (true)
        {
            if (size > _capacity - used)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _used, used + size, used);
            if (seen == used)
            {
                return true;
            }

            used = seen;
        }
    }

    /// <summary>A batch leaves the queue for a consumer: its room is free again.</summary>
    private void Release(QueuedBatch<T> work)
    {
        Interlocked.Add(ref _bytes, -work.QueuedBytes);
        Interlocked.Add(ref _used, -work.QueuedSize);
        Interlocked.Increment(ref _takes);
    }

    /// <summary>Only on the refusal path: no room would ever fit it (sizer items / bytes).</summary>
    private bool IsLargerThanQueue(Batch<T> batch) => _sizer switch
    {
        QueueSizer.Items => batch.ItemCount > _capacity,
        QueueSizer.Bytes => batch.MeasureByteSize() > _capacity,
        _ => false,
    };
}
