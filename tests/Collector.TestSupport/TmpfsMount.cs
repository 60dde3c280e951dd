using System.Diagnostics;

namespace Collector.Tests.TestSupport;

/// <summary>
/// A size-limited tmpfs mounted at a directory, for tests that need a real full disk. Mounting needs
/// root and a kernel that allows it (this machine; often not CI): <see cref="TryMount"/> returns null
/// there, and the test ignores itself. Disposing unmounts.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's syntax: "2m") at <paramref name="path"/> (created); null when not allowed.</summary>
    public static TmpfsMount? TryMount(string path, string size)
    {
        Directory.CreateDirectory(path);
        return Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path) ? new TmpfsMount(path) : null;
    }

    public void Dispose() => Run("umount", Path);

    private static bool Run(string file, params string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true });
            if (process is null)
            {
                return false;
            }

            return process.WaitForExit(10_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
