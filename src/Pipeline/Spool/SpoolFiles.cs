using System.Globalization;

namespace Collector.Pipeline.Spool;

/// <summary>File names of one spool: <c>&lt;name&gt;.spool.db</c> with its <c>-wal</c> and <c>-shm</c> companions.</summary>
internal sealed class SpoolFiles
{
    /// <summary>Moved-aside corrupt databases kept per spool; older ones are deleted so they cannot fill the disk.</summary>
    private const int KeptCorruptCopies = 3;

    private static readonly string[] Companions = ["", "-wal", "-shm"];

    public SpoolFiles(string directory, string name)
    {
        Directory = Path.GetFullPath(directory);
        DatabasePath = Path.Combine(Directory, FileNameFor(name));
        WalPath = DatabasePath + "-wal";
        ShmPath = DatabasePath + "-shm";
    }

    public string Directory { get; }

    public string DatabasePath { get; }

    public string WalPath { get; }

    public string ShmPath { get; }

    /// <summary>Component ids such as <c>otlphttp/backend</c> become <c>otlphttp_backend.spool.db</c>.</summary>
    public static string FileNameFor(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return string.Create(name.Length, name, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_';
            }
        }) + ".spool.db";
    }

    /// <summary>Database + WAL + shared-memory file sizes: what the cap bounds.</summary>
    public long BytesOnDisk() => SizeOf(DatabasePath) + SizeOf(WalPath) + SizeOf(ShmPath);

    public static long SizeOf(string path)
    {
        var info = new FileInfo(path);
        try
        {
            return info.Exists ? info.Length : 0;
        }
        catch (IOException)
        {
            // Deleted or truncated between the two calls.
            return 0;
        }
    }

    /// <summary>
    /// Renames the database and its companions to <c>&lt;file&gt;.corrupt-&lt;yyyyMMddHHmmss&gt;</c>
    /// (WAL as <c>...-wal</c>, so sqlite3 can still open the copy), keeps the newest copies only,
    /// and returns the new database path. Throws IOException / UnauthorizedAccessException.
    /// </summary>
    public string MoveAside(DateTime utcNow)
    {
        var stamp = utcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var target = $"{DatabasePath}.corrupt-{stamp}";
        for (var n = 1; File.Exists(target) || File.Exists(target + "-wal"); n++)
        {
            target = string.Create(CultureInfo.InvariantCulture, $"{DatabasePath}.corrupt-{stamp}-{n}");
        }

        foreach (var suffix in Companions)
        {
            if (File.Exists(DatabasePath + suffix))
            {
                File.Move(DatabasePath + suffix, target + suffix);
            }
        }

        PruneCorruptCopies();
        return target;
    }

    private void PruneCorruptCopies()
    {
        var prefix = Path.GetFileName(DatabasePath) + ".corrupt-";
        var copies = new List<string>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, prefix + "*"))
        {
            if (!file.EndsWith("-wal", StringComparison.Ordinal) && !file.EndsWith("-shm", StringComparison.Ordinal))
            {
                copies.Add(file);
            }
        }

        // Stamps sort chronologically as text.
        copies.Sort(StringComparer.Ordinal);
        for (var i = 0; i < copies.Count - KeptCorruptCopies; i++)
        {
            foreach (var suffix in Companions)
            {
                File.Delete(copies[i] + suffix);
            }
        }
    }
}
