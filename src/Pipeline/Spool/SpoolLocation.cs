namespace Collector.Pipeline.Spool;

/// <summary>
/// Why a directory cannot hold a spool file, in one line ("not a directory: /x/y"), found without
/// changing anything but a probe file that is deleted again. Used by <c>collector validate</c> and
/// to explain a spool that could not be opened at start (<c>on_unavailable: fail</c>).
/// </summary>
internal static class SpoolLocation
{
    /// <summary>ENOSPC: .NET on Linux and macOS reports the raw errno as the IOException's HResult.</summary>
    private const int NoSpaceLeftOnDevice = 28;

    /// <summary>
    /// Null when <paramref name="directory"/> exists, or can be created, and a file can be written in
    /// it; else the reason. <paramref name="fileName"/> (the spool file's name) is checked not to be a
    /// directory, which SQLite cannot open and the spool cannot move aside. A full disk is a problem
    /// only when that file does not exist yet.
    /// </summary>
    public static string? Problem(string directory, string? fileName)
    {
        string full;
        try
        {
            full = Path.GetFullPath(directory);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return $"not a valid path: {directory}";
        }

        // The deepest part of the path that exists; a regular file on the way means nobody (root
        // included) can create the directory.
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                return $"not a directory: {existing}";
            }

            if (Path.GetDirectoryName(existing) is not { } parent)
            {
                return $"cannot create directory: {full}";
            }

            existing = parent;
        }

        if (fileName is not null && string.Equals(existing, full, StringComparison.Ordinal) && Directory.Exists(Path.Combine(full, fileName)))
        {
            return $"is a directory, not a spool file: {Path.Combine(full, fileName)}";
        }

        // File modes do not stop root, ACLs and read-only mounts are not visible in them: writing a
        // probe file is the one test that sees all of these the way the spool would.
        var probe = Path.Combine(existing, $".collector-spool-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose);
            stream.WriteByte(0);
        }
        catch (UnauthorizedAccessException)
        {
            return $"permission denied: {existing}";
        }
        catch (IOException e) when (e.HResult == NoSpaceLeftOnDevice && fileName is not null
            && string.Equals(existing, full, StringComparison.Ordinal) && File.Exists(Path.Combine(full, fileName)))
        {
            // A full disk with the spool file already there is no reason to stop: the spool opens and
            // replays what it holds, which frees the space (Spool README, "Full disk").
            return null;
        }
        catch (IOException e)
        {
            return $"cannot write in {existing}: {e.Message}";
        }

        return null;
    }
}
