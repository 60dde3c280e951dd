using System.Diagnostics;
using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.LangtraceMerge;

/// <summary>
/// The state one langtrace_merge component id shares across every pipeline that lists it: the
/// trace-keyed buffer, the rules, the expiry loop. Two async gates: the buffer gate covers the
/// buffer (intake, detaching expired or evicted traces; short), the flush gate covers the rules,
/// the output scratch and everything handed on (decoding, merging, emitting; long). Intake thus
/// never waits for a flush to pass through the processors after this one. Whoever needs both
/// takes the flush gate first.
/// </summary>
internal sealed class MergeState : IIntakeSink
{
    // Below this many traces a flush runs as one part: splitting small flushes costs more than it saves.
    private const int MinTracesPerParallelPart = 256;

    private readonly LangtraceMergeConfig _config;
    private readonly Serilog.ILogger _logger;
    private readonly MergeMetrics _metrics;
    private readonly TraceBuffer _buffer = new();
    private readonly TraceMerger _merger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _flushGate = new(1, 1);

    // The rules and the output grouping share scratch state: one flush part at a time.
    private readonly Lock _rules = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _waitTicks;
    private readonly TimeSpan _period;

    // Traces detached from the buffer (under the buffer gate), taken by the next flush.
    private List<TraceEntry> _detached = [];
    private Task _loop = Task.CompletedTask;
    private int _started;

    // The request being taken in (valid only under the gate, during Intake).
    private List<DeliveryAck>? _intakeAcks;
    private int _intakePort;
    private bool _intakeLogs;
    private long _intakeSequence;
    private long _intakeTime;

    public MergeState(ComponentContext context, LangtraceMergeConfig config)
    {
        _config = config;
        _logger = context.Logger;
        var id = context.Id.ToString();
        _metrics = new MergeMetrics(context.Metrics, id);
        _merger = new TraceMerger(config, _metrics);
        Spans = new SpanSide(_metrics);
        Logs = new LogSide(_metrics);
        _waitTicks = (long)(config.Wait.TotalSeconds * Stopwatch.Frequency);
        // A tenth of wait: a trace leaves at most 10% late, and a busy buffer flushes in small, even
        // steps rather than bursts that make huge batches downstream.
        var tenth = config.Wait / 10;
        _period = tenth < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : tenth;
        var label = ("processor", id);
        context.Metrics.Gauge("collector_processor_langtrace_merge_buffered_traces", "Traces held in the merge buffer.", () => _buffer.Count, label);
        context.Metrics.Gauge("collector_processor_langtrace_merge_buffered_spans", "Spans held in the merge buffer.", () => _buffer.SpanCount, label);
        context.Metrics.Gauge("collector_processor_langtrace_merge_buffered_events", "AI events (log records) held in the merge buffer.", () => _buffer.EventCount, label);
    }

    public SpanSide Spans { get; }

    public LogSide Logs { get; }

    public MergeSide<T> Side<T>()
        where T : class, IMessage<T> =>
        typeof(T) == typeof(ResourceSpans) ? (MergeSide<T>)(object)Spans
        : typeof(T) == typeof(ResourceLogs) ? (MergeSide<T>)(object)Logs
        : throw new NotSupportedException($"langtrace_merge does not take {typeof(T).Name}");

    /// <summary>Registers one processor instance (one pipeline); returns its port number on that side.</summary>
    public int AddPort<T>(IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var ports = Side<T>().Ports;
        lock (ports)
        {
            ports.Add(new Port<T>(next));
            return ports.Count - 1;
        }
    }

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(ExpiryLoopAsync);
        }
    }

    public async ValueTask ConsumeAsync<T>(MergeSide<T> side, int port, Batch<T> batch, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        var target = side.Ports[port];
        bool evicted;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!target.Closed)
            {
                _intakeAcks = batch.Acks;
                _intakePort = port;
                _intakeLogs = side.IsLogs;
                _intakeSequence++;
                _intakeTime = Stopwatch.GetTimestamp();
                var itemsBefore = batch.ItemCount;
                try
                {
                    side.Intake(batch, port, this);

                    // What passes on carries the bytes of what is left (an estimate, no second pass).
                    batch.ByteSize = Batch<T>.ByteShare(batch.ByteSize, batch.ItemCount, itemsBefore);
                }
                finally
                {
                    _intakeAcks = null;
                }
            }

            // Traces this intake evicted stay in the detached list until taken under the flush gate,
            // so that a shutdown or expiry flush in between takes them (and waits for them) instead.
            evicted = _detached.Count > 0;
        }
        finally
        {
            _gate.Release();
        }

        if (batch.ItemCount == 0 && !evicted)
        {
            // Every item is held by the buffer now, which took its own ack holders.
            batch.CompleteAcks();
            return;
        }

        // Evicted traces and what was not buffered (not an AI item, bad ids, or a closed port) go on.
        // Evicted traces are other requests' data: this caller's cancellation must not lose them.
        await _flushGate.WaitAsync(evicted ? CancellationToken.None : cancellationToken);
        try
        {
            if (evicted)
            {
                List<TraceEntry>? detached;
                await _gate.WaitAsync(CancellationToken.None);
                try
                {
                    detached = TakeDetached();
                }
                finally
                {
                    _gate.Release();
                }

                if (detached is not null)
                {
                    await FlushAsync(detached, CancellationToken.None);
                }
            }

            if (batch.ItemCount > 0)
            {
                await target.Next.ConsumeAsync(batch, cancellationToken);
            }
            else
            {
                batch.CompleteAcks();
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>
    /// One processor instance stops: every buffered trace is flushed (spans and orphan records to
    /// their own pipelines), and that instance's later input passes straight through. Idempotent.
    /// </summary>
    public async Task ShutdownPortAsync<T>(MergeSide<T> side, int port, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        bool allClosed;
        await _flushGate.WaitAsync(cancellationToken);
        try
        {
            List<TraceEntry>? detached;
            await _gate.WaitAsync(cancellationToken);
            try
            {
                var target = side.Ports[port];
                if (target.Closed)
                {
                    return;
                }

                target.Closed = true;
                _buffer.RemoveAll(_detached);
                detached = TakeDetached();
                allClosed = AllClosed(Spans) && AllClosed(Logs);
            }
            finally
            {
                _gate.Release();
            }

            if (detached is not null)
            {
                await FlushAsync(detached, cancellationToken);
            }
        }
        finally
        {
            _flushGate.Release();
        }

        if (allClosed)
        {
            await _stop.CancelAsync();
            await _loop;
        }
    }

    TraceEntry IIntakeSink.EntryFor(TraceKey trace)
    {
        if (_buffer.TryGet(trace, out var entry))
        {
            return entry;
        }

        if (_buffer.Count >= _config.MaxTraces && _buffer.Oldest is { } oldest)
        {
            Detach(oldest, _metrics.EarlyMaxTraces);
        }

        return _buffer.Add(trace);
    }

    void IIntakeSink.Added(TraceEntry entry, bool isEvent)
    {
        _buffer.Touch(entry, _intakeTime, isEvent);
        if (_intakeAcks is { } acks && entry.AckedIntake != _intakeSequence)
        {
            // One holder per request per trace: the request is settled once all its traces have left.
            entry.AckedIntake = _intakeSequence;
            var held = entry.Acks ??= [];
            foreach (var ack in acks)
            {
                ack.AddPending(1);
                held.Add(new HeldAck(ack, _intakePort, _intakeLogs));
            }
        }

        if (isEvent ? entry.EventCount >= _config.MaxEventsPerTrace : entry.SpanCount >= _config.MaxSpansPerTrace)
        {
            Detach(entry, isEvent ? _metrics.EarlyMaxEvents : _metrics.EarlyMaxSpans);
        }
    }

    private void Detach(TraceEntry entry, Counter reason)
    {
        _buffer.Remove(entry);
        _detached.Add(entry);
        reason.Increment();
    }

    /// <summary>The detached traces, now owned by the caller (null when none). Caller holds the buffer gate.</summary>
    private List<TraceEntry>? TakeDetached()
    {
        if (_detached.Count == 0)
        {
            return null;
        }

        var taken = _detached;
        _detached = [];
        return taken;
    }

    private static bool AllClosed<T>(MergeSide<T> side)
        where T : class, IMessage<T>
    {
        foreach (var port in side.Ports)
        {
            if (!port.Closed)
            {
                return false;
            }
        }

        return true;
    }

    private async Task ExpiryLoopAsync()
    {
        using var timer = new PeriodicTimer(_period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await _flushGate.WaitAsync(_stop.Token);
                try
                {
                    List<TraceEntry>? detached;
                    await _gate.WaitAsync(_stop.Token);
                    try
                    {
                        var now = Stopwatch.GetTimestamp();
                        while (_buffer.Oldest is { } oldest && now - oldest.LastArrival >= _waitTicks)
                        {
                            _buffer.Remove(oldest);
                            _detached.Add(oldest);
                        }

                        detached = TakeDetached();
                    }
                    finally
                    {
                        _gate.Release();
                    }

                    // Expired traces are flushed whole: the shutdown budget does not apply to the loop.
                    if (detached is not null)
                    {
                        await FlushAsync(detached, CancellationToken.None);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.Error(e, "langtrace_merge: flushing expired traces failed");
                }
                finally
                {
                    _flushGate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped; the last port's shutdown flushed what was left.
        }
    }

    /// <summary>
    /// Applies the rules to detached traces (owned by the caller) and hands the results to each
    /// port's next consumer. A large flush is cut into parts that decode and go downstream in
    /// parallel (the processors after this one are per-span work); only the rules and the output
    /// grouping, which share scratch state, run one part at a time. Caller holds the flush gate.
    /// </summary>
    private async ValueTask FlushAsync(List<TraceEntry> entries, CancellationToken cancellationToken)
    {
        var parts = Math.Clamp(entries.Count / MinTracesPerParallelPart, 1, Environment.ProcessorCount);
        if (parts == 1)
        {
            await FlushPartAsync(entries, cancellationToken);
            return;
        }

        var tasks = new Task[parts];
        var size = (entries.Count + parts - 1) / parts;
        for (var p = 0; p < parts; p++)
        {
            var part = entries.GetRange(p * size, Math.Min(size, entries.Count - (p * size)));
            tasks[p] = Task.Run(() => FlushPartAsync(part, cancellationToken).AsTask(), CancellationToken.None);
        }

        await Task.WhenAll(tasks);
    }

    private async ValueTask FlushPartAsync(List<TraceEntry> entries, CancellationToken cancellationToken)
    {
        var undecodable = 0;
        foreach (var entry in entries)
        {
            entry.DecodeHeldSpans(ref undecodable);
        }

        if (undecodable > 0)
        {
            _metrics.ProcessingFailures.Increment();
            _logger.Error("langtrace_merge: {Spans} held spans could not be decoded and were dropped", undecodable);
        }

        var spanOutputs = new Batch<ResourceSpans>?[Spans.Ports.Count];
        var logOutputs = new Batch<ResourceLogs>?[Logs.Ports.Count];
        lock (_rules)
        {
            foreach (var entry in entries)
            {
                try
                {
                    _merger.Process(entry);
                }
                catch (Exception e)
                {
                    // A bug in the rules must not lose data: the trace goes on as far as it was merged.
                    _metrics.ProcessingFailures.Increment();
                    _logger.Error(e, "langtrace_merge: merging a trace failed; passing it on unmerged");
                }
            }

            Spans.CollectOutput(entries, spanOutputs);
            Logs.CollectOutput(entries, logOutputs);
            AttachAcks(entries, spanOutputs, logOutputs);
        }

        for (var i = 0; i < spanOutputs.Length; i++)
        {
            if (spanOutputs[i] is { } batch)
            {
                await EmitAsync(Spans.Ports[i].Next, batch, _metrics.FlushFailedSpans, cancellationToken);
            }
        }

        for (var i = 0; i < logOutputs.Length; i++)
        {
            if (logOutputs[i] is { } batch)
            {
                await EmitAsync(Logs.Ports[i].Next, batch, _metrics.FlushFailedLogRecords, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Each held ack rides on the output batch of its own port and signal; when everything of that
    /// port was merged away, on the spans of the flush (where merged data lives on), else on any
    /// output; with no output at all (every item dropped by rule) it is settled now.
    /// </summary>
    private static void AttachAcks(List<TraceEntry> entries, Batch<ResourceSpans>?[] spanOutputs, Batch<ResourceLogs>?[] logOutputs)
    {
        Batch<ResourceSpans>? anySpans = null;
        Batch<ResourceLogs>? anyLogs = null;
        foreach (var b in spanOutputs)
        {
            anySpans ??= b;
        }

        foreach (var b in logOutputs)
        {
            anyLogs ??= b;
        }

        foreach (var entry in entries)
        {
            if (entry.Acks is not { } held)
            {
                continue;
            }

            foreach (var (ack, port, logs) in held)
            {
                var acks = logs
                    ? AcksOf(logOutputs[port]) ?? AcksOf(anySpans) ?? AcksOf(anyLogs)
                    : AcksOf(spanOutputs[port]) ?? AcksOf(anySpans) ?? AcksOf(anyLogs);
                if (acks is null)
                {
                    ack.Complete();
                }
                else
                {
                    acks.Add(ack);
                }
            }
        }
    }

    private static List<DeliveryAck>? AcksOf<T>(Batch<T>? batch)
        where T : class, IMessage<T> => batch is null ? null : batch.Acks ??= [];

    private async ValueTask EmitAsync<T>(IConsumer<T> next, Batch<T> batch, Counter failed, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        try
        {
            // A flushed batch is built from (merged) decoded items: its size is calculated, once, outside the gates.
            batch.ByteSize = batch.MeasureByteSize();
            await next.ConsumeAsync(batch, cancellationToken);
        }
        catch (Exception e)
        {
            failed.Add(batch.ItemCount);
            batch.FailAcks("langtrace_merge: the next consumer failed");
            _logger.Error(e, "langtrace_merge: the next consumer failed; {Items} flushed items lost", batch.ItemCount);
        }
    }
}
