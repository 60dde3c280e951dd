namespace Collector.Pipeline.Spool;

/// <summary>
/// The storage operations <see cref="DiskSpool"/> performs on its file, one connection's worth
/// (<see cref="SpoolDatabase"/> is the SQLite one). Not thread-safe: the spool serialises every call.
/// Methods throw (<c>SqliteException</c>, IOException, <see cref="SpoolFormatException"/>) on storage
/// errors; the spool classifies them, so a store wrapped to throw at chosen calls exercises that handling.
/// </summary>
internal interface ISpoolStore : IDisposable
{
    void Begin();

    void Commit();

    /// <summary>Rolls back if a transaction is open; never throws.</summary>
    void TryRollback();

    /// <summary>Inserts a row and returns its id (ids only grow, also across restarts).</summary>
    long Insert(Signal signal, ReadOnlyMemory<byte> payload, int itemCount, long createdAtMs);

    /// <summary>Pages in use (page_count - freelist_count), the file's page count and its free pages, as of the open transaction.</summary>
    (long UsedPages, long PageCount, long FreePages) PageCounts();

    /// <summary>Smallest id above <paramref name="afterId"/> (of <paramref name="signal"/> when given) not in <paramref name="leased"/>; -1 when none.</summary>
    long FindOldest(long afterId, Signal? signal, Dictionary<long, int> leased);

    SpoolEntry? Read(long id);

    /// <summary>Inserts a row under its old id (rows salvaged from a damaged file keep their ids, so leases stay valid).</summary>
    void Restore(SpoolEntry entry);

    /// <summary>Writes a compact copy of the database (committed state, WAL included) to a new file at <paramref name="path"/>.</summary>
    void CopyTo(string path);

    /// <summary>Deletes one row; returns its item count, payload length and signal, or null when it was not there.</summary>
    (int Items, long PayloadBytes, Signal Signal)? Delete(long id);

    /// <summary>Returns up to one vacuum chunk of free pages to the file system (at the next checkpoint).</summary>
    void VacuumChunk();

    /// <summary>Copies the WAL into the database and truncates it; false when a reader blocked it.</summary>
    bool Checkpoint();

    /// <summary>Count, items and payload bytes of the rows, and the highest id ever assigned.</summary>
    (long Count, long Items, long PayloadBytes, long LastId) LoadTotals();

    /// <summary>Makes new ids continue above <paramref name="lastId"/>.</summary>
    void SeedIds(long lastId);

    /// <summary>Sets the hard page limit; returns the effective value (never below the current page count).</summary>
    long SetMaxPageCount(long pages);
}
