using Collector.Pipeline.Spool;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>
/// The sending queue backed by the exporter's disk spool (<c>sending_queue.spool</c>, see README.md):
/// the in-memory queue in front, the spool behind it.
/// <list type="bullet">
/// <item><c>write_ahead</c>: every batch is committed to the spool (leased to this queue) before its
/// acks settle; it is then sent from memory and deleted from the spool once the backend took it.</item>
/// <item><c>on_failure</c>: batches go to the spool instead of being dropped when the queue is full,
/// in-memory retries are exhausted, or shutdown comes.</item>
/// </list>
/// Consumers alternate between fresh batches and spooled ones (oldest first), so neither starves.
/// </summary>
internal sealed class SpoolQueue<T> : IExportQueue<T>
    where T : class, IMessage<T>
{
    /// <summary>Spooled batches that fail to parse in a row before a consumer gives the turn back.</summary>
    private const int MaxUnreadablePerLease = 8;

    private readonly MemoryQueue<T> _memory;
    private readonly SharedSpool _sharedSpool;
    private readonly ReplayGate _replay;
    private readonly Signal _signal;
    private readonly bool _writeAhead;

    /// <summary><c>on_unavailable: degrade</c>: a write_ahead batch whose commit failed is kept in memory (bypassed) instead of refused.</summary>
    private readonly bool _degradeOnFailure;
    private readonly ExporterTelemetry _telemetry;
    private readonly ExportStopping _stopping;

    /// <summary>The open spool while started (null before start and after stop).</summary>
    private DiskSpool? _spool;

    /// <summary>
    /// Why the spool refused the last batch offered to it (full, or failing), null once one was taken;
    /// with <see cref="_spoolRefusedAtCount"/>, its row count then: the door refuses while the memory
    /// queue is full and the spool has not shrunk since (see <see cref="AdmissionRefusal"/>).
    /// </summary>
    private AdmissionRefusal? _spoolRefusal;
    private long _spoolRefusedAtCount;

    public SpoolQueue(
        ComponentContext context,
        MemoryQueue<T> memory,
        SpoolConfig spool,
        RetryOnFailureConfig retry,
        ExporterTelemetry telemetry,
        ExportStopping stopping)
    {
        _memory = memory;
        _telemetry = telemetry;
        _stopping = stopping;
        _signal = SignalOps<T>.Instance.Signal;
        _sharedSpool = SharedSpool.For(context, spool);
        _writeAhead = spool.Durability == SpoolDurability.WriteAhead;
        _degradeOnFailure = spool.OnUnavailable == SpoolOnUnavailable.Degrade;
        _replay = new ReplayGate(retry.InitialInterval, retry.MaxInterval);
    }

    public bool RequiresDurableAck => _writeAhead;

    public bool ParkInsteadOfRetry => _stopping.IsStopping && Volatile.Read(ref _spool) is { IsAvailable: true };

    /// <summary>
    /// <c>on_full: reject</c>: refused while the memory queue is full and there is nowhere else to put a
    /// batch: the spool is not usable, or it refused the last batch (full under its own
    /// <c>on_full: reject</c>, or every row leased; or failing) and no row has left it since. A spool
    /// that took the last batch, or shrank, admits: the next overflow finds out again.
    /// </summary>
    public AdmissionRefusal? AdmissionRefusal()
    {
        if (!_memory.RejectsWhenFull || !_memory.IsFull)
        {
            return null;
        }

        var spool = Volatile.Read(ref _spool);
        if (spool is not { IsAvailable: true })
        {
            return _telemetry.QueueFullSpoolUnavailable;
        }

        var refusal = Volatile.Read(ref _spoolRefusal);
        return refusal is not null && spool.Count >= Volatile.Read(ref _spoolRefusedAtCount) ? refusal : null;
    }

    /// <summary>Opening runs recovery (corrupt files moved aside); it never throws for I/O.</summary>
    public void Start() => Volatile.Write(ref _spool, _sharedSpool.Acquire(_signal, CountDroppedOldest));

    public void Stop()
    {
        Volatile.Write(ref _spool, null);
        _sharedSpool.Release();
    }

    public void Enqueue(Batch<T> batch)
    {
        if (_writeAhead)
        {
            EnqueueWriteAhead(batch);
            return;
        }

        // Nothing in memory is durable: settle the answer acks as soon as the batch is taken, so that
        // clients are not held; delivery acks (durable ingress) wait until it is sent or spooled.
        batch.SettleTaken();
        if (_memory.Offer(batch) is { } refused)
        {
            // on_full: reject: a batch admitted before the queue filled is kept in memory when the spool will not take it.
            SpillAndSettle(batch, refused, keepInMemory: refused == _telemetry.DroppedQueueFull && _memory.RejectsWhenFull);
        }
    }

    public void Complete(bool consumersStarted) => _memory.Complete(consumersStarted);

    public bool TryTake(bool preferSpooled, out QueuedBatch<T> work) => preferSpooled
        ? TryLeaseReplay(out work) || _memory.TryTake(false, out work)
        : _memory.TryTake(false, out work) || TryLeaseReplay(out work);

    /// <summary>Waits for a fresh batch, or for the spool to have something to replay; false when the queue is done.</summary>
    public async ValueTask<bool> WaitForWorkAsync()
    {
        var reader = _memory.Reader;
        if (_stopping.IsStopping)
        {
            return await reader.WaitToReadAsync();
        }

        // Taken before the check, so that a change between the check and the wait is not missed.
        var changed = _replay.Changed;
        if (_replay.IsOpen(out _))
        {
            return true;
        }

        using var stop = new CancellationTokenSource();
        var read = reader.WaitToReadAsync(stop.Token).AsTask();
        var backoff = _replay.MayHaveWork ? _replay.BackoffRemaining : TimeSpan.Zero;
        var backoffEnd = backoff > TimeSpan.Zero ? Task.Delay(backoff, stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
        var first = await Task.WhenAny(read, changed, backoffEnd);
        await stop.CancelAsync();
        if (first == read)
        {
            return await read;
        }

        return true;
    }

    public void Settle(QueuedBatch<T> work, Delivery delivery)
    {
        switch (delivery.Outcome)
        {
            case SendOutcome.Delivered:
                if (work.Replayed)
                {
                    _telemetry.Replayed.Add(delivery.Delivered);
                }

                Forget(work);
                _replay.Resume();
                break;

            case SendOutcome.Permanent or SendOutcome.Poison:
                // A poison batch is never kept for later: the payload itself may be what the backend
                // refuses, and a spooled poison batch would block replay.
                Forget(work);
                break;

            case SendOutcome.RetriesExhausted:
                _replay.BackOff();
                if (work.SpoolId > 0)
                {
                    // It waits in the spool; the replay path tries again after the backoff.
                    Volatile.Read(ref _spool)?.Release(work.SpoolId);
                    _replay.Raise();
                }
                else
                {
                    SpillAndSettle(work.Batch, _telemetry.DroppedRetriesExhausted);
                }

                break;

            default:
                Park(work);
                break;
        }
    }

    /// <summary>A spooled batch just stays (its lease ends), an in-memory one is written to the spool or counted as dropped.</summary>
    public void Park(QueuedBatch<T> work)
    {
        var spool = Volatile.Read(ref _spool);
        if (work.SpoolId > 0 && spool is not null)
        {
            spool.Release(work.SpoolId);
            return;
        }

        SpillAndSettle(work.Batch, _telemetry.DroppedShutdown);
    }

    public void Leave(QueuedBatch<T> work)
    {
        if (work.HeldBytes > 0)
        {
            _sharedSpool.Unhold(work.HeldBytes);
        }
    }

    /// <summary>
    /// write_ahead: commit, then settle the acks: complete once every part is durable (or kept in memory,
    /// counted as bypassed: a failed commit under on_unavailable: degrade, an item too large for any
    /// row), fail when it was not stored (the client retries). The batch may be shared with other
    /// exporters of the pipeline: it is never mutated.
    /// </summary>
    private void EnqueueWriteAhead(Batch<T> batch)
    {
        // The pipeline drains before exporters stop, so only a straggler meets a stopping exporter.
        var inMemoryOnly = false;
        var refusal = _stopping.IsStopping ? ("exporter is shutting down", _telemetry.RefusedShutdown) : WriteAhead(batch, ref inMemoryOnly);
        if (refusal is not { } refused)
        {
            if (inMemoryOnly)
            {
                // Queued as it is (not committed): it settles its delivery acks when sent, as on_failure does.
                batch.SettleTaken();
            }
            else
            {
                batch.CompleteAcks();
            }

            return;
        }

        // The client retries the whole request, so the whole batch counts as refused (parts of a
        // split batch that were stored are delivered anyway: at-least-once).
        refused.Counter.Add(batch.ItemCount);
        batch.FailAcks(refused.Reason);
    }

    /// <summary>
    /// Commits <paramref name="batch"/> (leased) and queues it; returns why and where to count a refusal, or
    /// null when kept. <paramref name="inMemoryOnly"/> is set when the batch itself was queued uncommitted.
    /// </summary>
    private (string Reason, Counter Counter)? WriteAhead(Batch<T> batch, ref bool inMemoryOnly)
    {
        var spool = Volatile.Read(ref _spool);
        var payload = spool is null ? null : batch.ToRequestBytes();
        var result = spool is null
            ? new SpoolAppendResult(SpoolAppendStatus.Failed, Error: "spool not open")
            : spool.TryAppend(_signal, payload, batch.ItemCount, lease: true);
        switch (result.Status)
        {
            case SpoolAppendStatus.Appended or SpoolAppendStatus.DroppedOldest:
                SpoolTook();
                _telemetry.Spooled.Add(batch.ItemCount);
                var held = payload!.Length;
                if (!_sharedSpool.TryHold(held))
                {
                    held = 0;
                }

                // The queue carries the committed bytes: the sender forwards them without serialising
                // again, and the decoded objects are garbage now rather than after the send.
                var committed = Batch<T>.FromEncoded(payload, batch.ItemCount, payload.Length, batch.ClientAddress);
                if (held == 0 || !_memory.TryWrite(new QueuedBatch<T>(committed, result.Id, false, held)))
                {
                    // Durable already: a consumer replays it from the spool when it is free.
                    _sharedSpool.Unhold(held);
                    spool!.Release(result.Id);
                    _replay.Raise();
                }

                return null;

            case SpoolAppendStatus.Full:
                SpoolRefused(spool!, _telemetry.QueueAndSpoolFull);
                _telemetry.WarnOnce("spool_full", null, "Exporter {Exporter}: spool full, refusing new {Items} (clients are told to retry; logged once, counted always)");
                return ("exporter spool is full", _telemetry.RefusedSpoolFull);

            case SpoolAppendStatus.TooLarge when Batch<T>.TrySplitCopy(batch, out var first, out var rest):
                // The parts are copies without acks: the original's acks settle on what they came to.
                var partInMemory = false;
                return WriteAhead(first, ref partInMemory) ?? WriteAhead(rest, ref partInMemory);

            case SpoolAppendStatus.Failed when !_degradeOnFailure:
                // Loss path 5: a commit that failed (disk full, I/O error, spool unavailable) is refused,
                // never acknowledged from memory: the client keeps the data and retries.
                _telemetry.WarnOnce("refused_spool_error", result.Error,
                    "Exporter {Exporter}: spool write failed ({Error}); refusing {Items} (clients are told to retry; logged once per cause, counted always)");
                return ("exporter spool cannot store the data", _telemetry.RefusedSpoolError);

            default:
                // Failed under on_unavailable: degrade, or one unsplittable item above the payload limit
                // (no retry would ever fit it): keep it in memory so that data still flows; durability is
                // lost for it, so count and say so.
                if (result.Status == SpoolAppendStatus.Failed && spool is not null)
                {
                    SpoolRefused(spool, _telemetry.QueueFullSpoolUnavailable);
                }

                if (!_memory.TryWrite(new QueuedBatch<T>(batch, 0, false, 0)))
                {
                    return ("exporter queue is full and its spool failed", _telemetry.RefusedNoRoom);
                }

                _telemetry.Bypassed.Add(batch.ItemCount);
                inMemoryOnly = true;
                _telemetry.WarnOnce("bypassed", result.Error,
                    "Exporter {Exporter}: spool write failed ({Error}); {Items} are kept in memory only and are NOT durable (logged once per cause, counted always)");
                return null;
        }
    }

    /// <summary>Leases the oldest spooled batch of this signal when the gate is open, and parses it.</summary>
    private bool TryLeaseReplay(out QueuedBatch<T> work)
    {
        work = default;
        var spool = Volatile.Read(ref _spool);
        if (spool is null || _stopping.IsStopping)
        {
            return false;
        }

        for (var i = 0; i < MaxUnreadablePerLease; i++)
        {
            if (!_replay.IsOpen(out var epoch))
            {
                return false;
            }

            if (!spool.TryLeaseOldest(_signal, out var entry))
            {
                if (spool.IsAvailable)
                {
                    _replay.FoundEmpty(epoch);
                }
                else
                {
                    // Unreadable right now (it reopens by itself): look again later, not in a loop.
                    _replay.BackOff();
                }

                return false;
            }

            if (SpooledBatch<T>.Read(entry, out var error) is not { } batch)
            {
                // Cannot happen with our own payloads unless the file was tampered with: never send garbage.
                spool.Delete(entry.Id);
                _telemetry.DroppedUnreadable.Add(entry.ItemCount);
                _telemetry.WarnOnce("unreadable", error, "Exporter {Exporter}: dropped a spooled batch that does not parse ({Error}); {Items} lost (logged once per cause, counted always)");
                continue;
            }

            work = new QueuedBatch<T>(batch, entry.Id, true, 0);
            return true;
        }

        return false;
    }

    /// <summary>The backend took the batch or rejected it for good: it leaves the spool (an in-memory one settles its delivery acks).</summary>
    private void Forget(QueuedBatch<T> work)
    {
        if (work.SpoolId > 0)
        {
            Volatile.Read(ref _spool)?.Delete(work.SpoolId);
        }

        work.Batch.SettleDelivered();
    }

    /// <summary>
    /// <see cref="Spill"/>, then settles the batch's delivery acks: complete when it is in the spool,
    /// failed when it was dropped (a durable door keeps the request for replay at the next start).
    /// With <paramref name="keepInMemory"/> (on_full: reject, a fresh batch that found the queue full)
    /// a batch the spool will not take is queued above queue_size instead, its acks settling when it is
    /// sent; when only part of a split batch was spooled, that part is then delivered twice (at-least-once).
    /// </summary>
    private void SpillAndSettle(Batch<T> batch, Counter noSpoolReason, bool keepInMemory = false)
    {
        if (Spill(batch, noSpoolReason, countDrops: !keepInMemory))
        {
            batch.SettleDelivered();
            return;
        }

        if (keepInMemory)
        {
            if (_memory.Overfill(batch))
            {
                return;
            }

            // Only a queue completed by shutdown refuses an overfill.
            _telemetry.DroppedShutdown.Add(batch.ItemCount);
        }

        batch.FailDelivery("exporter could not spool the batch");
    }

    /// <summary>The spool took a batch: it has room again, as far as the door is concerned.</summary>
    private void SpoolTook()
    {
        if (Volatile.Read(ref _spoolRefusal) is not null)
        {
            Volatile.Write(ref _spoolRefusal, null);
        }
    }

    /// <summary>The spool would not take a batch: remembered, with its row count, for <see cref="AdmissionRefusal"/>.</summary>
    private void SpoolRefused(DiskSpool spool, AdmissionRefusal refusal)
    {
        Volatile.Write(ref _spoolRefusedAtCount, spool.Count);
        Volatile.Write(ref _spoolRefusal, refusal);
    }

    /// <summary>
    /// Writes an in-memory batch to the spool (unleased: the replay path delivers it); true when all of
    /// it is there. Without an open spool it is dropped under <paramref name="noSpoolReason"/>; a full or
    /// failing spool drops it under spool_full / spool_error, counted and logged unless
    /// <paramref name="countDrops"/> is false (the caller keeps it). A refusal is remembered for the
    /// door (<see cref="AdmissionRefusal"/>). The batch is not mutated (it may be shared).
    /// </summary>
    private bool Spill(Batch<T> batch, Counter noSpoolReason, bool countDrops = true)
    {
        var spool = Volatile.Read(ref _spool);
        if (spool is null)
        {
            if (countDrops)
            {
                noSpoolReason.Add(batch.ItemCount);
            }

            return false;
        }

        var result = spool.TryAppend(_signal, batch.ToRequestBytes(), batch.ItemCount);
        switch (result.Status)
        {
            case SpoolAppendStatus.Appended or SpoolAppendStatus.DroppedOldest:
                SpoolTook();
                _telemetry.Spooled.Add(batch.ItemCount);
                _replay.Raise();
                return true;

            case SpoolAppendStatus.Full:
                SpoolRefused(spool, _telemetry.QueueAndSpoolFull);
                if (countDrops)
                {
                    _telemetry.DroppedSpoolFull.Add(batch.ItemCount);
                    _telemetry.WarnOnce("spool_full", null, "Exporter {Exporter}: spool full, dropping {Items} that could not be delivered (logged once, counted always)");
                }

                return false;

            case SpoolAppendStatus.TooLarge when Batch<T>.TrySplitCopy(batch, out var first, out var rest):
                // Both halves are tried even when the first fails: what fits is kept.
                return Spill(first, noSpoolReason, countDrops) & Spill(rest, noSpoolReason, countDrops);

            default:
                if (result.Status == SpoolAppendStatus.Failed)
                {
                    SpoolRefused(spool, _telemetry.QueueFullSpoolUnavailable);
                }

                if (countDrops)
                {
                    _telemetry.DroppedSpoolError.Add(batch.ItemCount);
                    _telemetry.WarnOnce("spool_error", result.Error, "Exporter {Exporter}: spool write failed ({Error}), dropping {Items} that could not be delivered (logged once per cause, counted always)");
                }

                return false;
        }
    }

    /// <summary>Told by the spool, after the commit, how many items of this signal drop_oldest deleted (whoever's append caused it).</summary>
    private void CountDroppedOldest(long items)
    {
        _telemetry.DroppedOldest.Add(items);
        _telemetry.WarnOnce("drop_oldest", null, "Exporter {Exporter}: spool full, dropping the oldest spooled {Items} to make room (logged once, counted always)");
    }
}
