namespace Collector.Pipeline.Spool;

/// <summary>
/// Appends: concurrent callers are group-committed (whoever holds the lock commits every waiting
/// append in one transaction), each transaction kept within the WAL's share of the cap; when a row
/// does not fit under the cap, room is made by the policy (reject, or drop the oldest batches that
/// are not leased); the WAL is checkpointed and free pages returned so database + WAL stay under it.
/// </summary>
internal sealed partial class DiskSpool
{
    private readonly Lock _pendingLock = new();
    private List<AppendRequest> _pending = [];
    private List<AppendRequest> _spare = [];

    /// <summary>Members of the open append transaction, settled on commit or rollback.</summary>
    private readonly List<AppendRequest> _txnMembers = [];

    private TxnDelta _txn;
    private long _txnFrames;
    private long _usedPages;

    private void RunPendingAppends()
    {
        List<AppendRequest> group;
        lock (_pendingLock)
        {
            group = _pending;
            _pending = _spare;
        }

        try
        {
            AppendGroup(group);
        }
        finally
        {
            group.Clear();
            _spare = group;
        }
    }

    private void AppendGroup(List<AppendRequest> group)
    {
        if (!EnsureDatabase(out var database))
        {
            foreach (var request in group)
            {
                request.Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: _lastError));
            }

            return;
        }

        var createdAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var next = 0;
        while (next < group.Count)
        {
            var current = -1;
            try
            {
                CheckpointIfDue(database);
                BeginAppendTransaction(database);
                for (; next < group.Count; next++)
                {
                    current = next;
                    var request = group[next];
                    var pages = SpoolBudget.PagesToInsert(request.Payload.Length);
                    if (pages > _budget.MaxRowPages)
                    {
                        _metrics.RejectedTooLarge.Add(request.ItemCount);
                        request.Complete(new SpoolAppendResult(SpoolAppendStatus.TooLarge,
                            Error: $"payload of {request.Payload.Length} bytes exceeds the spool's limit of {_budget.MaxPayloadBytes} bytes"));
                        continue;
                    }

                    // Keep every transaction within the WAL reserve; the rest goes into the next one.
                    if (_txnMembers.Count > 0 && _txnFrames + pages > _budget.TxnFrameLimit)
                    {
                        break;
                    }

                    _txnMembers.Add(request);
                    if (_usedPages + pages > _budget.MaxPageCount && !MakeRoom(database, request, pages))
                    {
                        request.Pending = new SpoolAppendResult(SpoolAppendStatus.Full, DroppedItems: request.DroppedItems,
                            DroppedBatches: request.DroppedBatches, Error: "spool is full");
                        continue;
                    }

                    var id = database.Insert(request.Signal, request.Payload, request.ItemCount, createdAt);
                    _lastId = id;
                    if (request.Lease)
                    {
                        // Leased before later members of this transaction look for drop_oldest victims.
                        _leased[id] = request.ItemCount;
                    }

                    _usedPages += pages;
                    _txnFrames += pages;
                    _txn.Add(1, request.ItemCount, request.Payload.Length);
                    request.Pending = request.DroppedBatches > 0
                        ? new SpoolAppendResult(SpoolAppendStatus.DroppedOldest, id, request.DroppedItems, request.DroppedBatches)
                        : new SpoolAppendResult(SpoolAppendStatus.Appended, id);
                }

                current = -1;
                CommitAppendTransaction(database);
            }
            catch (Exception e) when (IsStorageError(e))
            {
                database.TryRollback();
                var failed = FailAppendTransaction(e.Message);

                // Always make progress: fail the request being processed, or the next one when the
                // transaction itself could not start.
                var culprit = current >= 0 ? current : failed == 0 ? next : -1;
                if (culprit >= 0 && culprit < group.Count)
                {
                    if (!group[culprit].Done)
                    {
                        group[culprit].Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: e.Message));
                    }

                    next = culprit + 1;
                }

                OnStorageError("append", e);
                if (!EnsureDatabase(out var reopened))
                {
                    for (; next < group.Count; next++)
                    {
                        group[next].Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: _lastError));
                    }

                    return;
                }

                database = reopened;
            }
        }

        try
        {
            CheckpointIfDue(database);
        }
        catch (Exception e) when (IsStorageError(e))
        {
            OnStorageError("maintenance", e);
        }
    }

    /// <summary>
    /// Frees room for <paramref name="pages"/> by the policy: false under reject, or when nothing
    /// but leased batches is left to drop. Drops are committed in bounded transactions.
    /// </summary>
    private bool MakeRoom(ISpoolStore database, AppendRequest request, int pages)
    {
        if (_onFull == SpoolFullPolicy.Reject)
        {
            _metrics.RejectedFull.Add(request.ItemCount);
            _metrics.Warn("full", "Spool is full ({Batches} batches, {Bytes} bytes on disk); rejecting new batches", _count, BytesOnDisk);
            return false;
        }

        var deleteFrames = SpoolBudget.FramesToDelete(_budget.MaxRowPages);
        long after = 0;
        while (_usedPages + pages > _budget.MaxPageCount)
        {
            if (_txnFrames + deleteFrames + pages > _budget.TxnFrameLimit)
            {
                // Commit what is done so far (earlier appends and these drops) to bound the WAL.
                _txnMembers.Remove(request);
                CommitAppendTransaction(database);
                CheckpointIfDue(database);
                BeginAppendTransaction(database);
                _txnMembers.Add(request);
            }

            var victim = database.FindOldest(after, null, _leased);
            if (victim < 0)
            {
                _metrics.RejectedFull.Add(request.ItemCount);
                _metrics.Warn("full_leased", "Spool is full and every batch in it is being delivered; rejecting new batches");
                return false;
            }

            var row = database.Delete(victim);
            after = victim;
            if (row is null)
            {
                continue;
            }

            request.DroppedItems += row.Value.Items;
            request.DroppedBatches++;
            _txn.Add(-1, -row.Value.Items, -row.Value.PayloadBytes);
            _txn.DroppedItems += row.Value.Items;
            _txn.DropBySignal(row.Value.Signal, row.Value.Items);
            _txnFrames += SpoolBudget.FramesToDelete(SpoolBudget.RowPages(row.Value.PayloadBytes));
            _usedPages = database.PageCounts().UsedPages;
        }

        _metrics.Warn("drop_oldest", "Spool is full; dropping the oldest batches to make room (counted in collector_spool_dropped_items_total)");
        return true;
    }

    private void BeginAppendTransaction(ISpoolStore database)
    {
        database.Begin();
        _txn = default;
        _txnFrames = 0;
        _usedPages = database.PageCounts().UsedPages;
    }

    private void CommitAppendTransaction(ISpoolStore database)
    {
        database.Commit();
        _lastError = null;
        AdjustTotals(_txn.Batches, _txn.Items, _txn.Bytes);
        _metrics.DroppedOldest.Add(_txn.DroppedItems);
        if (_txn.DroppedItems > 0 && _droppedOldest is { } report)
        {
            ReportDropped(report, Signal.Traces, _txn.DroppedTraces);
            ReportDropped(report, Signal.Metrics, _txn.DroppedMetrics);
            ReportDropped(report, Signal.Logs, _txn.DroppedLogs);
        }

        foreach (var member in _txnMembers)
        {
            if (member.Pending.IsStored)
            {
                _metrics.Appended.Increment();
            }

            member.Complete(member.Pending);
        }

        _txnMembers.Clear();
        _txn = default;
    }

    private static void ReportDropped(Action<Signal, long> report, Signal signal, long items)
    {
        if (items > 0)
        {
            report(signal, items);
        }
    }

    private int FailAppendTransaction(string error)
    {
        var failed = _txnMembers.Count;
        foreach (var member in _txnMembers)
        {
            if (member.Lease && member.Pending.IsStored)
            {
                // Rolled back: the row is gone, and so is its lease.
                _leased.Remove(member.Pending.Id);
            }

            member.Complete(new SpoolAppendResult(SpoolAppendStatus.Failed, Error: error));
        }

        _txnMembers.Clear();
        _txn = default;
        return failed;
    }

    /// <summary>Checkpoints and truncates the WAL once it holds its share of the cap.</summary>
    private void CheckpointIfDue(ISpoolStore database)
    {
        if (SpoolFiles.SizeOf(_files.WalPath) >= _budget.WalCheckpointBytes && !database.Checkpoint())
        {
            // Cannot happen with the exclusive lock; refusing keeps the WAL bound if it ever does.
            throw new IOException("WAL checkpoint was blocked; refusing to grow the WAL past its share of the cap");
        }
    }

    /// <summary>
    /// Returns free pages to the file system: all of them once the spool is empty (cheap: nothing to
    /// move), else one small chunk per delete while free pages exceed a quarter of the file. An empty
    /// spool also truncates a WAL of noticeable size, so a drained spool is small on disk.
    /// </summary>
    private void ReturnFreePages(ISpoolStore database)
    {
        var (_, pageCount, free) = database.PageCounts();
        var vacuum = free >= _budget.VacuumThresholdPages && (_count == 0 || free * 4 >= pageCount);
        if (vacuum)
        {
            do
            {
                database.VacuumChunk();
                CheckpointIfDue(database);
                free = database.PageCounts().FreePages;
            }
            while (_count == 0 && free > 0);
        }

        // The database file shrinks only when the vacuum is checkpointed.
        if (_count == 0 && (vacuum || SpoolFiles.SizeOf(_files.WalPath) >= _budget.VacuumThresholdPages * SpoolBudget.PageSize))
        {
            database.Checkpoint();
        }
        else
        {
            CheckpointIfDue(database);
        }
    }

    /// <summary>Net change of the open append transaction, applied to the totals on commit.</summary>
    private struct TxnDelta
    {
        public long Batches;
        public long Items;
        public long Bytes;
        public long DroppedItems;
        public long DroppedTraces;
        public long DroppedMetrics;
        public long DroppedLogs;

        public void Add(long batches, long items, long bytes)
        {
            Batches += batches;
            Items += items;
            Bytes += bytes;
        }

        public void DropBySignal(Signal signal, long items)
        {
            switch (signal)
            {
                case Signal.Traces: DroppedTraces += items; break;
                case Signal.Metrics: DroppedMetrics += items; break;
                default: DroppedLogs += items; break;
            }
        }
    }

    private sealed class AppendRequest(Signal signal, ReadOnlyMemory<byte> payload, int itemCount, bool lease)
    {
        public bool Lease { get; } = lease;

        public Signal Signal { get; } = signal;

        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public int ItemCount { get; } = itemCount;

        public long DroppedItems { get; set; }

        public int DroppedBatches { get; set; }

        /// <summary>Result once the transaction holding this request commits.</summary>
        public SpoolAppendResult Pending { get; set; }

        public SpoolAppendResult Result { get; private set; }

        public bool Done { get; private set; }

        public void Complete(SpoolAppendResult result)
        {
            Result = result;
            Done = true;
        }
    }
}
