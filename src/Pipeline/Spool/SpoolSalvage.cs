using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Collector.Pipeline.Spool;

/// <summary>What a salvage found in a damaged spool file.</summary>
internal struct SalvageTally
{
    public long CopiedBatches;
    public long CopiedItems;

    /// <summary>Batches known to be lost: rows whose payload failed to read, plus rows the index lists in skipped damaged ranges.</summary>
    public long LostBatches;

    /// <summary>Items of the lost rows whose item count could still be read.</summary>
    public long LostItemsKnown;
}

/// <summary>
/// Reads what is still readable of a damaged spool file (moved aside already), row by row, so
/// that two bad pages do not cost every batch in the file. Rows are found by id scans; where a
/// scan hits a damaged page, the next readable position is searched for (exponential then
/// binary search on the id, ids being dense and growing), so the scan resumes behind the damage.
/// A row whose payload cannot be read is skipped and counted; the <c>batches_by_signal</c> index,
/// which holds every id too, counts the rows of the ranges the scan had to skip.
/// </summary>
internal sealed class SpoolSalvage : IDisposable
{
    private const int ScanChunk = 256;

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _scan;
    private readonly SqliteCommand _read;
    private readonly SqliteCommand _readCount;
    private readonly SqliteCommand _indexCount;
    private readonly List<long> _ids = [];

    private SpoolSalvage(SqliteConnection connection)
    {
        _connection = connection;
        _scan = Command("SELECT id FROM batches WHERE id >= $from ORDER BY id LIMIT $limit", "$from", "$limit");
        _read = Command("SELECT signal, item_count, created_at, payload FROM batches WHERE id = $id", "$id");
        _readCount = Command("SELECT item_count FROM batches WHERE id = $id", "$id");
        _indexCount = Command("SELECT count(*) FROM batches INDEXED BY batches_by_signal WHERE signal IN (0, 1, 2) AND id > $low AND id <= $high", "$low", "$high");
    }

    /// <summary>Opens <paramref name="path"/> for reading its rows; null when not even that works.</summary>
    public static SpoolSalvage? TryOpen(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            using (var exclusive = connection.CreateCommand())
            {
                // No -shm next to the copy; cell_size_check turns more damage into errors than into garbage.
                exclusive.CommandText = "PRAGMA locking_mode = EXCLUSIVE; PRAGMA cell_size_check = ON; PRAGMA query_only = ON";
                exclusive.ExecuteNonQuery();
            }

            return new SpoolSalvage(connection);
        }
        catch (Exception e) when (IsReadError(e))
        {
            connection.Dispose();
            return null;
        }
    }

    /// <summary>Hands every readable row, oldest first, to <paramref name="keep"/> and counts what is lost.</summary>
    public SalvageTally CopyReadable(Action<SpoolEntry> keep)
    {
        var tally = default(SalvageTally);
        var last = LastId();
        long from = 1;
        while (true)
        {
            var failed = !TryScan(from);
            foreach (var id in _ids)
            {
                CopyRow(id, keep, ref tally);
            }

            if (_ids.Count > 0)
            {
                from = _ids[^1] + 1;
            }

            if (!failed)
            {
                if (_ids.Count < ScanChunk)
                {
                    return tally;
                }

                continue;
            }

            // A scan that read nothing failed at `from` itself; one that read rows failed past them.
            var resume = NextReadable(_ids.Count == 0 ? from : from - 1, last);
            tally.LostBatches += IndexedBetween(from - 1, (resume ?? last + 1) - 1);
            if (resume is not { } next)
            {
                return tally;
            }

            from = next;
        }
    }

    public void Dispose()
    {
        _scan.Dispose();
        _read.Dispose();
        _readCount.Dispose();
        _indexCount.Dispose();
        _connection.Dispose();
    }

    private static bool IsReadError(Exception e) =>
        e is SqliteException or InvalidCastException or InvalidOperationException or FormatException or OverflowException or IndexOutOfRangeException;

    /// <summary>Ids from <paramref name="from"/> on into <see cref="_ids"/>; false when the scan hit damage (the ids before it are kept).</summary>
    private bool TryScan(long from)
    {
        _ids.Clear();
        try
        {
            _scan.Parameters[0].Value = from;
            _scan.Parameters[1].Value = ScanChunk;
            using var reader = _scan.ExecuteReader();
            while (reader.Read())
            {
                _ids.Add(reader.GetInt64(0));
            }

            return true;
        }
        catch (Exception e) when (IsReadError(e))
        {
            return false;
        }
    }

    private void CopyRow(long id, Action<SpoolEntry> keep, ref SalvageTally tally)
    {
        SpoolEntry? entry = null;
        try
        {
            _read.Parameters[0].Value = id;
            using var reader = _read.ExecuteReader();
            if (reader.Read())
            {
                var signal = reader.GetInt64(0);
                var items = reader.GetInt64(1);
                if (signal is >= 0 and <= 2 && items is >= 0 and <= int.MaxValue)
                {
                    entry = new SpoolEntry(id, (Signal)signal, reader.GetFieldValue<byte[]>(3), (int)items, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
                }
            }
        }
        catch (Exception e) when (IsReadError(e) || e is ArgumentOutOfRangeException)
        {
            entry = null;
        }

        if (entry is not null)
        {
            keep(entry);
            tally.CopiedBatches++;
            tally.CopiedItems += entry.ItemCount;
            return;
        }

        tally.LostBatches++;
        try
        {
            _readCount.Parameters[0].Value = id;
            if (_readCount.ExecuteScalar() is long items and >= 0)
            {
                tally.LostItemsKnown += items;
            }
        }
        catch (Exception e) when (IsReadError(e))
        {
            // The row's own cell is unreadable: counted as a batch, its items unknown.
        }
    }

    /// <summary>
    /// The smallest id q above <paramref name="bad"/> from which a scan works again: probes bad+1,
    /// bad+2, bad+4, ... up to <paramref name="last"/>, then halves the gap between the last failing
    /// and the first working probe. A scan from q reaches q's leaf through the interior pages, so
    /// it passes a damaged leaf before it. Null when nothing up to the last id reads.
    /// </summary>
    private long? NextReadable(long bad, long last)
    {
        var start = bad;
        long good;
        for (long step = 1; ; step = step > long.MaxValue / 4 ? long.MaxValue / 2 : step * 2)
        {
            var probe = start > last - step ? last : start + step;
            if (probe <= bad)
            {
                return null;
            }

            if (SeekWorks(probe))
            {
                good = probe;
                break;
            }

            if (probe >= last)
            {
                return null;
            }

            bad = probe;
        }

        while (good - bad > 1)
        {
            var middle = bad + ((good - bad) / 2);
            if (SeekWorks(middle))
            {
                good = middle;
            }
            else
            {
                bad = middle;
            }
        }

        return good;
    }

    private bool SeekWorks(long from)
    {
        try
        {
            _scan.Parameters[0].Value = from;
            _scan.Parameters[1].Value = 1;
            using var reader = _scan.ExecuteReader();
            reader.Read();
            return true;
        }
        catch (Exception e) when (IsReadError(e))
        {
            return false;
        }
    }

    /// <summary>Rows the index lists in (low, high]: those a skipped damaged range held. 0 when the index is damaged too.</summary>
    private long IndexedBetween(long low, long high)
    {
        try
        {
            _indexCount.Parameters[0].Value = low;
            _indexCount.Parameters[1].Value = high;
            return Convert.ToInt64(_indexCount.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (IsReadError(e))
        {
            return 0;
        }
    }

    /// <summary>The highest id ever assigned (sqlite_sequence), else the highest id found, else a bound far above any real id.</summary>
    private long LastId()
    {
        foreach (var sql in (string[])["SELECT max(seq) FROM sqlite_sequence WHERE name = 'batches'", "SELECT max(id) FROM batches"])
        {
            try
            {
                using var command = _connection.CreateCommand();
                command.CommandText = sql;
                if (command.ExecuteScalar() is long id and > 0)
                {
                    return id;
                }
            }
            catch (Exception e) when (IsReadError(e))
            {
                // Try the next source.
            }
        }

        return long.MaxValue / 2;
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(name, SqliteType.Integer);
        }

        return command;
    }
}
