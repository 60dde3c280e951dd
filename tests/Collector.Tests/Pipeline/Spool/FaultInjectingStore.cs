using Collector.Pipeline;
using Collector.Pipeline.Spool;
using Microsoft.Data.Sqlite;

namespace Collector.Tests.Spool;

/// <summary>
/// Plans storage faults for a spool: the n-th call of a store operation (counted across reopens)
/// throws the <see cref="SqliteException"/> SQLite gives for that trouble, before it reaches the
/// real database. <see cref="Opener"/> goes to <c>DiskSpool.Open(openStore: ...)</c>.
/// </summary>
internal sealed class SpoolFaults
{
    public const int IoError = 10;
    public const int IoErrorWrite = 778;
    public const int Full = 13;
    public const int Corrupt = 11;

    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Operation, int Call), int> _planned = [];

    /// <summary>Opens the real SQLite store (operation "Open" counts too) wrapped to throw the planned faults.</summary>
    public Func<string, SpoolBudget, ISpoolStore> Opener => (path, budget) =>
    {
        Hit("Open");
        return new FaultInjectingStore(SpoolDatabase.Open(path, budget), this);
    };

    /// <summary>The <paramref name="call"/>-th call (1-based, from now on) of <paramref name="operation"/> fails with <paramref name="sqliteError"/>.</summary>
    public void FailNext(string operation, int sqliteError, int call = 1) => _planned[(operation, Calls(operation) + call)] = sqliteError;

    public int Calls(string operation) => _calls.GetValueOrDefault(operation);

    public void Hit(string operation)
    {
        var call = Calls(operation) + 1;
        _calls[operation] = call;
        if (_planned.Remove((operation, call), out var code))
        {
            var message = code switch
            {
                Full => "database or disk is full",
                Corrupt => "database disk image is malformed",
                _ => "disk I/O error",
            };
            throw new SqliteException($"SQLite Error {code & 0xff}: '{message}'.", code & 0xff, code);
        }
    }
}

/// <summary>A real <see cref="SpoolDatabase"/> behind an <see cref="ISpoolStore"/> that throws where <see cref="SpoolFaults"/> planned it.</summary>
internal sealed class FaultInjectingStore(ISpoolStore inner, SpoolFaults faults) : ISpoolStore
{
    public void Begin()
    {
        faults.Hit(nameof(Begin));
        inner.Begin();
    }

    public void Commit()
    {
        faults.Hit(nameof(Commit));
        inner.Commit();
    }

    public void TryRollback() => inner.TryRollback();

    public long Insert(Signal signal, ReadOnlyMemory<byte> payload, int itemCount, long createdAtMs)
    {
        faults.Hit(nameof(Insert));
        return inner.Insert(signal, payload, itemCount, createdAtMs);
    }

    public (long UsedPages, long PageCount, long FreePages) PageCounts() => inner.PageCounts();

    public long FindOldest(long afterId, Signal? signal, Dictionary<long, int> leased)
    {
        faults.Hit(nameof(FindOldest));
        return inner.FindOldest(afterId, signal, leased);
    }

    public SpoolEntry? Read(long id)
    {
        faults.Hit(nameof(Read));
        return inner.Read(id);
    }

    public void Restore(SpoolEntry entry)
    {
        faults.Hit(nameof(Restore));
        inner.Restore(entry);
    }

    public void CopyTo(string path)
    {
        faults.Hit(nameof(CopyTo));
        inner.CopyTo(path);
    }

    public (int Items, long PayloadBytes, Signal Signal)? Delete(long id)
    {
        faults.Hit(nameof(Delete));
        return inner.Delete(id);
    }

    public void VacuumChunk()
    {
        faults.Hit(nameof(VacuumChunk));
        inner.VacuumChunk();
    }

    public bool Checkpoint()
    {
        faults.Hit(nameof(Checkpoint));
        return inner.Checkpoint();
    }

    public (long Count, long Items, long PayloadBytes, long LastId) LoadTotals() => inner.LoadTotals();

    public void SeedIds(long lastId) => inner.SeedIds(lastId);

    public long SetMaxPageCount(long pages) => inner.SetMaxPageCount(pages);

    public void Dispose() => inner.Dispose();
}
