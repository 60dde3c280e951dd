using System.Threading.Channels;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Export;
using Collector.Pipeline.Spool;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Pipeline.Graph;

/// <summary>
/// A durable pipeline door's write-ahead log (<c>service.pipelines.&lt;id&gt;.durability</c>, see
/// docs/architecture.md "Acks and durability"): the same <see cref="DiskSpool"/> an exporter spools
/// to, one file per pipeline. A request is committed (group commit, leased) before its client is
/// answered; its delivery ack releases the row once every exporter has sent, spooled or dropped by
/// rule what the processors made of it. A failed delivery (shutdown, a spool error) leaves the row
/// for the next start, which replays it through the processors.
/// </summary>
internal sealed class IngressLog<T>
    where T : class, IMessage<T>
{
    private static readonly Signal LogSignal = SignalOps<T>.Instance.Signal;

    private readonly DiskSpool _spool;
    private readonly Serilog.ILogger _logger;
    private readonly LogLimiter _retainedLog = new(TimeSpan.FromMinutes(1));

    /// <summary>Rows that were in the file at open: the ones replay may take (later ones belong to this run).</summary>
    private readonly long _replayUpTo;

    private readonly Channel<IngressEntry> _settled = Channel.CreateUnbounded<IngressEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _settler;
    private readonly Counter _appended;
    private readonly Counter _released;
    private readonly Counter _retained;
    private readonly Counter _replayed;
    private readonly Counter _unreadable;
    private readonly Counter _refusedFull;
    private readonly Counter _refusedError;
    private int _outstanding;
    private int _closing;

    private IngressLog(DiskSpool spool, PipelineId id, SelfMetrics metrics, Serilog.ILogger logger)
    {
        _spool = spool;
        _logger = logger;
        _replayUpTo = spool.LastId;
        var item = LogSignal.ItemName();
        var pipeline = ("pipeline", id.ToString());
        _appended = metrics.Counter($"collector_ingress_appended_{item}_total", "Items committed to the durable door's log before the client was answered.", pipeline);
        _released = metrics.Counter($"collector_ingress_released_{item}_total", "Items whose log entry was released: every exporter sent, spooled or dropped by rule what was made of them (or the client was refused after all).", pipeline);
        _retained = metrics.Counter($"collector_ingress_retained_{item}_total", "Items whose delivery failed (shutdown, a spool error): their log entry stays for replay at the next start.", pipeline);
        _replayed = metrics.Counter($"collector_ingress_replayed_{item}_total", "Items replayed from the log through the processors at start.", pipeline);
        _unreadable = metrics.Counter($"collector_ingress_unreadable_{item}_total", "Items of log entries that did not parse at replay (deleted).", pipeline);
        _refusedFull = metrics.Counter($"collector_ingress_refused_{item}_total", "Items refused at the door because the log could not commit them, by reason.", pipeline, ("reason", "log_full"));
        _refusedError = metrics.Counter($"collector_ingress_refused_{item}_total", "Items refused at the door because the log could not commit them, by reason.", pipeline, ("reason", "log_error"));
        _settler = Task.Run(SettleLoopAsync);
    }

    /// <summary>Requests committed and not yet settled.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>
    /// Opens (or creates) <c>&lt;directory&gt;/ingress_&lt;pipeline&gt;.spool.db</c>. With <c>on_unavailable: fail</c>
    /// (the default) a log that cannot be opened throws <see cref="SpoolUnavailableException"/> with one line.
    /// </summary>
    public static IngressLog<T> Open(PipelineId id, DurabilityConfig config, SelfMetrics metrics, Serilog.ILogger logger)
    {
        var spool = DiskSpool.Open(
            config.Directory,
            DurabilityConfig.LogOwner(id).ToString(),
            config.MaxBytes,
            config.FullPolicy,
            logger,
            metrics,
            id.ToString(),
            failFastConfigKey: config.OnUnavailable == SpoolOnUnavailable.Fail ? $"service.pipelines.{id}.durability.directory" : null,
            labelKey: "pipeline");
        return new IngressLog<T>(spool, id, metrics, logger);
    }

    /// <summary>
    /// Commits the request carried by <paramref name="batch"/> (split over several rows when it is larger
    /// than one row may be). Returns its entry, whose <see cref="IngressEntry.Ack"/> the batch must carry,
    /// or null with the reason the client is told to retry (log full, write failed).
    /// </summary>
    public IngressEntry? TryAppend(Batch<T> batch, out string? refusal)
    {
        var ids = new List<long>(1);
        refusal = Append(batch, ids);
        if (refusal is not null)
        {
            foreach (var id in ids)
            {
                _spool.Delete(id);
            }

            return null;
        }

        _appended.Add(batch.ItemCount);
        return Track(ids, batch.ItemCount);
    }

    /// <summary>
    /// Replays the rows left by an earlier run (oldest first) through <paramref name="submit"/>, which
    /// returns false when the door closed; the rows not replayed stay for the next start.
    /// </summary>
    public async Task ReplayAsync(Func<Batch<T>, ValueTask<bool>> submit)
    {
        var after = 0L;
        var replayedItems = 0L;
        var rows = 0;
        while (after < _replayUpTo && _spool.TryLeaseOldest(LogSignal, out var row, after))
        {
            if (row.Id > _replayUpTo)
            {
                _spool.Release(row.Id);
                break;
            }

            after = row.Id;
            if (SpooledBatch<T>.Read(row, out var error) is not { } batch)
            {
                _spool.Delete(row.Id);
                _unreadable.Add(row.ItemCount);
                _logger.Error("Durable door log: deleted an entry that does not parse ({Error}); {Count} items lost", error, row.ItemCount);
                continue;
            }

            var entry = Track([row.Id], row.ItemCount);
            batch.Acks = [entry.Ack];
            if (!await submit(batch))
            {
                // Closed before it went in: it stays for the next start.
                entry.Ack.Fail("pipeline stopped before replay");
                break;
            }

            _replayed.Add(row.ItemCount);
            replayedItems += row.ItemCount;
            rows++;
        }

        if (rows > 0)
        {
            _logger.Information("Durable door log: replayed {Rows} requests ({Items} items) left by the previous run", rows, replayedItems);
        }
    }

    /// <summary>
    /// After the exporters stopped: waits (within <paramref name="cancellationToken"/>) for the acks still
    /// out, then closes the file. What is not settled by then stays in the log and is replayed at the next start.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _closing, 1);
        if (Outstanding == 0)
        {
            _idle.TrySetResult();
        }

        try
        {
            await _idle.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _logger.Warning("Durable door log: {Count} requests were not settled within the shutdown timeout; they are replayed at the next start", Outstanding);
        }

        _settled.Writer.TryComplete();
        await _settler;
        _spool.Dispose();
    }

    private string? Append(Batch<T> batch, List<long> ids)
    {
        var result = _spool.TryAppend(LogSignal, batch.ToRequestBytes(), batch.ItemCount, lease: true);
        switch (result.Status)
        {
            case SpoolAppendStatus.Appended or SpoolAppendStatus.DroppedOldest:
                ids.Add(result.Id);
                return null;

            case SpoolAppendStatus.TooLarge when Batch<T>.TrySplitCopy(batch, out var first, out var rest):
                return Append(first, ids) ?? Append(rest, ids);

            case SpoolAppendStatus.Full:
                _refusedFull.Add(batch.ItemCount);
                return "durable door log is full";

            default:
                // A failed commit is never answered OK: the data would be in memory only.
                _refusedError.Add(batch.ItemCount);
                return $"durable door log write failed: {result.Error ?? "unknown error"}";
        }
    }

    private IngressEntry Track(List<long> ids, int items)
    {
        Interlocked.Increment(ref _outstanding);
        var entry = new IngressEntry(ids, items, new DeliveryAck(waitsForDelivery: true), _settled.Writer);
        entry.Ack.Task.ContinueWith(
            static (outcome, state) =>
            {
                var settled = (IngressEntry)state!;
                settled.Failure = outcome.Result;
                settled.SettledTo.TryWrite(settled);
            },
            entry,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return entry;
    }

    /// <summary>One reader applies settlements to the file: deletes (released) or lease ends (kept for replay).</summary>
    private async Task SettleLoopAsync()
    {
        var reader = _settled.Reader;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var entry))
            {
                if (entry.Failure is null || entry.Withdrawn)
                {
                    foreach (var id in entry.Ids)
                    {
                        _spool.Delete(id);
                    }

                    _released.Add(entry.Items);
                }
                else
                {
                    foreach (var id in entry.Ids)
                    {
                        _spool.Release(id);
                    }

                    _retained.Add(entry.Items);
                    if (_retainedLog.TryLog(entry.Failure, out var suppressed))
                    {
                        _logger.Warning("Durable door log: delivery failed ({Reason}); {Count} items stay in the log and are replayed at the next start ({Suppressed} more since the last line)", entry.Failure, entry.Items, suppressed);
                    }
                }

                if (Interlocked.Decrement(ref _outstanding) == 0 && Volatile.Read(ref _closing) == 1)
                {
                    _idle.TrySetResult();
                }
            }
        }
    }
}

/// <summary>One committed request: its rows, items, the delivery ack that settles them and the log's settler queue.</summary>
internal sealed class IngressEntry(List<long> ids, int items, DeliveryAck ack, ChannelWriter<IngressEntry> settledTo)
{
    public List<long> Ids { get; } = ids;

    public int Items { get; } = items;

    public DeliveryAck Ack { get; } = ack;

    /// <summary>Where the entry goes once its ack settled (the log's one settler task).</summary>
    public ChannelWriter<IngressEntry> SettledTo { get; } = settledTo;

    /// <summary>The ack's failure reason once settled; null when released.</summary>
    public string? Failure { get; set; }

    /// <summary>The client was refused after the commit (the pipeline was full): the rows go at once.</summary>
    public bool Withdrawn { get; private set; }

    /// <summary>The request never entered the pipeline: delete its rows (the client retries it).</summary>
    public void Withdraw()
    {
        Withdrawn = true;
        Ack.Fail("withdrawn");
    }
}
