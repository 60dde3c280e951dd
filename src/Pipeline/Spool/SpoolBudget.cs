namespace Collector.Pipeline.Spool;

/// <summary>
/// Splits the on-disk cap into a hard database limit (<c>PRAGMA max_page_count</c>) and a WAL bound,
/// so that database + WAL never exceed the cap:
/// the WAL is checkpointed (TRUNCATE) as soon as it reaches <see cref="WalCheckpointFrames"/> frames and
/// no transaction writes more than <see cref="TxnFrameLimit"/> frames, hence the WAL stays below
/// <see cref="MaxWalBytes"/>; the database file can only grow to its logical size, which SQLite
/// itself keeps at or below <see cref="MaxPageCount"/> pages.
/// </summary>
internal sealed class SpoolBudget
{
    public const int PageSize = 4096;

    /// <summary>Smallest cap that leaves useful room after the WAL reserve.</summary>
    public const long MinCapBytes = 1024 * 1024;

    private const int FrameBytes = PageSize + 24;
    private const int WalHeaderBytes = 32;
    private const long MaxWalReserveBytes = 40L * 1024 * 1024;

    /// <summary>Covers a -shm file that another SQLite client may have left (this spool runs without one).</summary>
    private const int SlackBytes = 64 * 1024;

    /// <summary>Pages every transaction may touch besides the rows (page 1, sqlite_sequence, roots).</summary>
    private const int TxnOverheadFrames = 8;

    /// <summary>Pages of an empty spool database (header, schema, table and index roots, pointer map).</summary>
    private const int BaselinePages = 16;

    // Record = payload + row header + the other columns (signal, item_count, created_at): at most 32 bytes more.
    private const int RecordOverheadBytes = 32;
    private const int MaxLocal = PageSize - 35;
    private const int MinLocal = ((PageSize - 12) * 32 / 255) - 23;
    private const int OverflowUsable = PageSize - 4;

    private SpoolBudget(long capBytes)
    {
        CapBytes = capBytes;

        // An eighth of the cap (at most 40 MiB) is reserved for the WAL: a quarter of it before a
        // checkpoint is due, the rest for the one transaction that may run before the checkpoint.
        var walReserve = Math.Min(capBytes / 8, MaxWalReserveBytes);
        WalCheckpointFrames = (int)Math.Max(16, walReserve / 4 / FrameBytes);
        var txnFrames = (int)Math.Max(32, (walReserve - WalHeaderBytes - ((long)WalCheckpointFrames * FrameBytes)) / FrameBytes);
        TxnFrameLimit = txnFrames - TxnOverheadFrames;
        MaxWalBytes = WalHeaderBytes + ((long)(WalCheckpointFrames + txnFrames) * FrameBytes);
        MaxPageCount = (capBytes - MaxWalBytes - SlackBytes) / PageSize;

        MaxRowPages = (int)Math.Min(TxnFrameLimit - FramesToDelete(TxnFrameLimit), MaxPageCount - BaselinePages);
        MaxPayloadBytes = LargestPayloadWithin(MaxRowPages);
        // Small chunks keep a delete that also vacuums short (the lock is held meanwhile); moving a page
        // writes it and its parent, so a chunk stays well inside one transaction's WAL share.
        VacuumChunkPages = Math.Clamp(TxnFrameLimit / 4, 4, 64);
        VacuumThresholdPages = Math.Max(1, Math.Min(256, MaxPageCount / 16));
    }

    public long CapBytes { get; }

    /// <summary>The WAL is checkpointed and truncated once it holds this many frames.</summary>
    public int WalCheckpointFrames { get; }

    public long WalCheckpointBytes => WalHeaderBytes + ((long)WalCheckpointFrames * FrameBytes);

    /// <summary>Estimated frames one transaction may write (rows plus deletes), besides its fixed overhead.</summary>
    public int TxnFrameLimit { get; }

    public long MaxWalBytes { get; }

    /// <summary>Hard database size limit in pages, enforced by SQLite (SQLITE_FULL beyond it).</summary>
    public long MaxPageCount { get; }

    /// <summary>Largest <see cref="PagesToInsert"/> value accepted for one row.</summary>
    public int MaxRowPages { get; }

    public long MaxPayloadBytes { get; }

    /// <summary>Pages released per <c>PRAGMA incremental_vacuum</c> statement (each is its own transaction).</summary>
    public int VacuumChunkPages { get; }

    /// <summary>Free pages worth returning to the file system.</summary>
    public long VacuumThresholdPages { get; }

    public static SpoolBudget For(long capBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capBytes, MinCapBytes);
        return new SpoolBudget(capBytes);
    }

    /// <summary>
    /// Upper bound of the pages (and WAL frames) that inserting one row adds: its overflow chain,
    /// its leaf, b-tree splits of the table and the signal index, pointer-map and freelist-trunk pages.
    /// </summary>
    public static int PagesToInsert(long payloadBytes)
    {
        var rowPages = RowPages(payloadBytes);
        return rowPages + 10 + (rowPages / 128);
    }

    /// <summary>Upper bound of the WAL frames written by deleting a row that spans <paramref name="rowPages"/> pages.</summary>
    public static int FramesToDelete(int rowPages) => 3 + (rowPages / 128);

    /// <summary>Pages a row occupies, following SQLite's overflow layout for table b-tree leaves.</summary>
    public static int RowPages(long payloadBytes)
    {
        var record = payloadBytes + RecordOverheadBytes;
        if (record <= MaxLocal)
        {
            return 1;
        }

        var local = MinLocal + ((record - MinLocal) % OverflowUsable);
        if (local > MaxLocal)
        {
            local = MinLocal;
        }

        return (int)Math.Min(int.MaxValue - 1, ((record - local + OverflowUsable - 1) / OverflowUsable) + 1);
    }

    private static long LargestPayloadWithin(int maxPages)
    {
        long low = 0;
        long high = (long)maxPages * PageSize;
        while (low < high)
        {
            var mid = low + ((high - low + 1) / 2);
            if (PagesToInsert(mid) <= maxPages)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        return low;
    }
}
