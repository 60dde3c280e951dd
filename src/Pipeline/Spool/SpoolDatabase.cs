using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Collector.Pipeline.Spool;

/// <summary>The spool file was readable but is not a spool database this version understands.</summary>
internal sealed class SpoolFormatException(string message) : Exception(message);

/// <summary>
/// The SQL side of one spool file: schema, pragmas and prepared statements on one connection.
/// Not thread-safe; <see cref="DiskSpool"/> serialises every call. Methods throw
/// <see cref="SqliteException"/> on database errors; the caller classifies them.
/// </summary>
internal sealed class SpoolDatabase : ISpoolStore
{
    /// <summary>PRAGMA application_id of spool files ("CSPL"), so foreign SQLite files are recognised.</summary>
    private const long ApplicationId = 0x4353504C;
    private const long SchemaVersion = 1;
    private const int SqliteFull = 13;

    private const string Schema = """
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            signal INTEGER NOT NULL,
            item_count INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            payload BLOB NOT NULL
        );
        CREATE INDEX batches_by_signal ON batches(signal);
        """;

    /// <summary>Most rows read per scan step while looking for the oldest batch that is not leased.</summary>
    private const int MaxScanChunk = 256;

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _pageCounts;
    private readonly SqliteCommand _scanAll;
    private readonly SqliteCommand _scanSignal;
    private readonly SqliteCommand _readRow;
    private readonly SqliteCommand _restore;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _vacuum;
    private readonly SqliteCommand _checkpoint;
    private readonly List<long> _scanIds = [];
    private bool _inTransaction;

    private SpoolDatabase(SqliteConnection connection, SpoolBudget budget)
    {
        _connection = connection;
        _begin = Prepare("BEGIN");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");
        _insert = Prepare("INSERT INTO batches(signal, item_count, created_at, payload) VALUES ($signal, $items, $created, $payload) RETURNING id",
            ("$signal", SqliteType.Integer), ("$items", SqliteType.Integer), ("$created", SqliteType.Integer), ("$payload", SqliteType.Blob));
        _pageCounts = Prepare("SELECT page_count, freelist_count FROM pragma_page_count(), pragma_freelist_count()");
        _scanAll = Prepare("SELECT id FROM batches WHERE id > $after ORDER BY id LIMIT $limit", ("$after", SqliteType.Integer), ("$limit", SqliteType.Integer));
        _scanSignal = Prepare("SELECT id FROM batches WHERE signal = $signal AND id > $after ORDER BY id LIMIT $limit",
            ("$after", SqliteType.Integer), ("$limit", SqliteType.Integer), ("$signal", SqliteType.Integer));
        _readRow = Prepare("SELECT signal, item_count, created_at, payload FROM batches WHERE id = $id", ("$id", SqliteType.Integer));
        _restore = Prepare("INSERT INTO batches(id, signal, item_count, created_at, payload) VALUES ($id, $signal, $items, $created, $payload)",
            ("$id", SqliteType.Integer), ("$signal", SqliteType.Integer), ("$items", SqliteType.Integer), ("$created", SqliteType.Integer), ("$payload", SqliteType.Blob));
        _delete = Prepare("DELETE FROM batches WHERE id = $id RETURNING item_count, length(payload), signal", ("$id", SqliteType.Integer));
        _vacuum = Prepare(string.Create(CultureInfo.InvariantCulture, $"PRAGMA incremental_vacuum({budget.VacuumChunkPages})"));
        _checkpoint = Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    /// <summary>
    /// Opens or creates the spool file. Throws <see cref="SqliteException"/> (CORRUPT / NOTADB for a
    /// damaged file, I/O and permission codes otherwise) or <see cref="SpoolFormatException"/>.
    /// </summary>
    public static SpoolDatabase Open(string path, SpoolBudget budget)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,

            // Dispose must really close the file (moving a corrupt file aside, tests reopening it).
            Pooling = false,

            // Busy only happens when another process holds the file; do not wait 30 s for it.
            DefaultTimeout = 2,
        }.ToString();

        // Decided before SQLite creates the file: an existing file is not written before its rows can be read.
        var isNew = !File.Exists(path) || new FileInfo(path).Length == 0;
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Configure(connection, budget, isNew);
            return new SpoolDatabase(connection, budget);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Begin()
    {
        _begin.ExecuteNonQuery();
        _inTransaction = true;
    }

    public void Commit()
    {
        _commit.ExecuteNonQuery();
        _inTransaction = false;
    }

    /// <summary>Rolls back if a transaction is open; never throws (SQLite may have rolled back already).</summary>
    public void TryRollback()
    {
        if (!_inTransaction)
        {
            return;
        }

        _inTransaction = false;
        try
        {
            _rollback.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // "no transaction is active": SQLite already rolled back after the error.
        }
    }

    public long Insert(Signal signal, ReadOnlyMemory<byte> payload, int itemCount, long createdAtMs)
    {
        var p = _insert.Parameters;
        p[0].Value = (int)signal;
        p[1].Value = itemCount;
        p[2].Value = createdAtMs;
        p[3].Value = payload;
        try
        {
            return (long)_insert.ExecuteScalar()!;
        }
        finally
        {
            // Do not keep the caller's buffer alive.
            p[3].Value = null;
        }
    }

    /// <summary>Pages in use (page_count - freelist_count) and the file's page count, as of the open transaction.</summary>
    public (long UsedPages, long PageCount, long FreePages) PageCounts()
    {
        using var reader = _pageCounts.ExecuteReader();
        reader.Read();
        var pageCount = reader.GetInt64(0);
        var free = reader.GetInt64(1);
        return (pageCount - free, pageCount, free);
    }

    /// <summary>Smallest id above <paramref name="afterId"/> (of <paramref name="signal"/> when given) not in <paramref name="leased"/>; -1 when none.</summary>
    public long FindOldest(long afterId, Signal? signal, Dictionary<long, int> leased)
    {
        var scan = signal is null ? _scanAll : _scanSignal;
        if (signal is not null)
        {
            scan.Parameters[2].Value = (int)signal.Value;
        }

        // At most leased.Count rows can be skipped, so one more row is all a step needs (rows of big
        // batches fill a leaf page each: reading fewer ids touches fewer pages).
        var limit = Math.Min(leased.Count + 1, MaxScanChunk);
        scan.Parameters[1].Value = limit;
        while (true)
        {
            _scanIds.Clear();
            scan.Parameters[0].Value = afterId;
            using (var reader = scan.ExecuteReader())
            {
                while (reader.Read())
                {
                    _scanIds.Add(reader.GetInt64(0));
                }
            }

            foreach (var id in _scanIds)
            {
                if (!leased.ContainsKey(id))
                {
                    return id;
                }
            }

            if (_scanIds.Count < limit)
            {
                return -1;
            }

            afterId = _scanIds[^1];
        }
    }

    public SpoolEntry? Read(long id)
    {
        _readRow.Parameters[0].Value = id;
        using var reader = _readRow.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new SpoolEntry(
            id,
            (Signal)reader.GetInt32(0),
            reader.GetFieldValue<byte[]>(3),
            reader.GetInt32(1),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
    }

    public void Restore(SpoolEntry entry)
    {
        var p = _restore.Parameters;
        p[0].Value = entry.Id;
        p[1].Value = (int)entry.Signal;
        p[2].Value = entry.ItemCount;
        p[3].Value = entry.CreatedAt.ToUnixTimeMilliseconds();
        p[4].Value = entry.Payload;
        try
        {
            _restore.ExecuteNonQuery();
        }
        finally
        {
            p[4].Value = null;
        }
    }

    /// <summary>VACUUM INTO: page size, auto_vacuum, application_id, user_version and ids (sqlite_sequence) carry over.</summary>
    public void CopyTo(string path)
    {
        using var command = Command("VACUUM INTO $path");
        command.Parameters.AddWithValue("$path", path);
        command.ExecuteNonQuery();
    }

    /// <summary>Deletes one row; returns its item count, payload length and signal, or null when it was not there.</summary>
    public (int Items, long PayloadBytes, Signal Signal)? Delete(long id)
    {
        _delete.Parameters[0].Value = id;
        using var reader = _delete.ExecuteReader();
        return reader.Read() ? (reader.GetInt32(0), reader.GetInt64(1), (Signal)reader.GetInt32(2)) : null;
    }

    /// <summary>Returns up to one vacuum chunk of free pages to the file system (at the next checkpoint).</summary>
    public void VacuumChunk() => _vacuum.ExecuteNonQuery();

    /// <summary>Copies the WAL into the database and truncates it to zero bytes; false when a reader blocked it.</summary>
    public bool Checkpoint()
    {
        using var reader = _checkpoint.ExecuteReader();
        return reader.Read() && reader.GetInt64(0) == 0;
    }

    /// <summary>Count, items and payload bytes of the rows, and the highest id ever assigned.</summary>
    public (long Count, long Items, long PayloadBytes, long LastId) LoadTotals()
    {
        long count, items, bytes;
        using (var totals = Command("SELECT count(*), coalesce(sum(item_count), 0), coalesce(sum(length(payload)), 0) FROM batches"))
        using (var reader = totals.ExecuteReader())
        {
            reader.Read();
            count = reader.GetInt64(0);
            items = reader.GetInt64(1);
            bytes = reader.GetInt64(2);
        }

        using var sequence = Command("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'batches'");
        return (count, items, bytes, Convert.ToInt64(sequence.ExecuteScalar(), CultureInfo.InvariantCulture));
    }

    /// <summary>Makes new ids continue above <paramref name="lastId"/> (a replacement file must not reuse ids still leased in memory).</summary>
    public void SeedIds(long lastId)
    {
        using var command = Command("INSERT OR REPLACE INTO sqlite_sequence(name, seq) VALUES ('batches', $seq)");
        command.Parameters.AddWithValue("$seq", lastId);
        command.ExecuteNonQuery();
    }

    /// <summary>Sets the hard page limit; SQLite never sets it below the current page count, so the effective value is returned.</summary>
    public long SetMaxPageCount(long pages)
    {
        using var command = Command(string.Create(CultureInfo.InvariantCulture, $"PRAGMA max_page_count = {pages}"));
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        _begin.Dispose();
        _commit.Dispose();
        _rollback.Dispose();
        _insert.Dispose();
        _pageCounts.Dispose();
        _scanAll.Dispose();
        _scanSignal.Dispose();
        _readRow.Dispose();
        _restore.Dispose();
        _delete.Dispose();
        _vacuum.Dispose();
        _checkpoint.Dispose();
        _connection.Dispose();
    }

    private static void Configure(SqliteConnection connection, SpoolBudget budget, bool isNew)
    {
        // Exclusive locking before WAL: the WAL index lives in heap memory (no -shm file) and a second
        // process (or a second collector on the same directory) cannot open the file by mistake.
        Execute(connection, "PRAGMA locking_mode = EXCLUSIVE");

        // Only effective on a new, empty file: they must precede the first table. Never on an existing
        // file: setting auto_vacuum rewrites the header (a WAL frame), which a full disk refuses, and a
        // spool that cannot open cannot replay and delete what it holds (loss path 5). CheckSchema
        // verifies both on existing files.
        if (isNew)
        {
            Execute(connection, "PRAGMA page_size = " + SpoolBudget.PageSize.ToString(CultureInfo.InvariantCulture));
            Execute(connection, "PRAGMA auto_vacuum = INCREMENTAL");
        }

        // The first statement that reads the header: a file that is not a database fails here (NOTADB).
        var mode = Scalar(connection, "PRAGMA journal_mode = WAL") as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new SpoolFormatException($"cannot switch to WAL mode (journal_mode is '{mode}')");
        }

        var check = Scalar(connection, "PRAGMA quick_check") as string;
        if (!string.Equals(check, "ok", StringComparison.Ordinal))
        {
            throw new SpoolFormatException($"quick_check failed: {check}");
        }

        var tables = Convert.ToInt64(Scalar(connection, "SELECT count(*) FROM sqlite_schema"), CultureInfo.InvariantCulture);
        var applicationId = Convert.ToInt64(Scalar(connection, "PRAGMA application_id"), CultureInfo.InvariantCulture);
        if (tables == 0 && applicationId == 0)
        {
            CreateSchema(connection);
        }
        else
        {
            CheckSchema(connection, applicationId);
        }

        // NORMAL in WAL mode: a commit is written to the WAL file (the OS page cache) before it returns,
        // so it survives a process kill; fsync happens at checkpoints, so a power loss may lose the
        // last commits. FULL would fsync on every commit and cost milliseconds per append.
        Execute(connection, "PRAGMA synchronous = NORMAL");
        Execute(connection, "PRAGMA secure_delete = OFF");
        Execute(connection, "PRAGMA temp_store = MEMORY");

        // Checkpoints are run explicitly (TRUNCATE) when the WAL reaches its share of the cap.
        Execute(connection, "PRAGMA wal_autocheckpoint = 0");
        Execute(connection, "PRAGMA journal_size_limit = " + budget.WalCheckpointBytes.ToString(CultureInfo.InvariantCulture));
        Execute(connection, "PRAGMA max_page_count = " + budget.MaxPageCount.ToString(CultureInfo.InvariantCulture));
        try
        {
            Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE)");
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteFull)
        {
            // The WAL's pages would grow the database file and the disk is full: the WAL stays and is
            // read from, so the rows can still be replayed (and deleting them frees space, see DiskSpool).
        }
    }

    private static void CreateSchema(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = Schema
                + string.Create(CultureInfo.InvariantCulture, $"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {SchemaVersion};");
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static void CheckSchema(SqliteConnection connection, long applicationId)
    {
        if (applicationId != ApplicationId)
        {
            throw new SpoolFormatException("not a spool database (foreign application_id)");
        }

        var version = Convert.ToInt64(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version != SchemaVersion)
        {
            throw new SpoolFormatException($"unsupported spool schema version {version}");
        }

        var pageSize = Convert.ToInt64(Scalar(connection, "PRAGMA page_size"), CultureInfo.InvariantCulture);
        var autoVacuum = Convert.ToInt64(Scalar(connection, "PRAGMA auto_vacuum"), CultureInfo.InvariantCulture);
        var columns = Convert.ToInt64(Scalar(connection, "SELECT count(*) FROM pragma_table_info('batches') WHERE name IN ('id', 'signal', 'item_count', 'created_at', 'payload')"), CultureInfo.InvariantCulture);
        if (pageSize != SpoolBudget.PageSize || autoVacuum != 2 || columns != 5)
        {
            throw new SpoolFormatException($"unexpected spool layout (page_size {pageSize}, auto_vacuum {autoVacuum}, {columns}/5 columns)");
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = Command(sql);
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        return command;
    }
}
