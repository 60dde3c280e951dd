using System.Diagnostics;
using System.Globalization;

namespace Collector.LoadGen;

/// <summary>The collector under test as a child process, with CPU time and RSS read from /proc.</summary>
internal sealed class CollectorChild : IDisposable
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux
    private readonly Process _process;

    private CollectorChild(Process process) => _process = process;

    public int Pid => _process.Id;

    public static CollectorChild Start(Options options, IReadOnlyDictionary<string, string> environment)
    {
        if (!File.Exists(options.Collector))
        {
            throw new FileNotFoundException($"{options.Collector} not found: build it first with `dotnet build -c Release src/Collector`");
        }

        // collector.dll runs on the dotnet host; a native AOT build (bin/.../publish/collector) runs as is.
        var managed = options.Collector.EndsWith(".dll", StringComparison.Ordinal);
        var executable = managed ? "dotnet" : options.Collector;
        var info = new ProcessStartInfo(options.CollectorCpus is null ? executable : "taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (options.CollectorCpus is { } cpus)
        {
            // taskset execs the collector, so the pid (CPU time, RSS) is still the collector's.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(cpus);
            info.ArgumentList.Add(executable);
        }

        if (managed)
        {
            info.ArgumentList.Add(options.Collector);
        }

        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(options.WithoutDurability ? CollectorConfigFile.WithoutDurability(options.Config) : options.Config);
        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }

        foreach (var (k, v) in options.CollectorEnvironment)
        {
            info.Environment[k] = v;
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && (line.Contains(" ERR ", StringComparison.Ordinal) || line.Contains(" FTL ", StringComparison.Ordinal)))
            {
                Console.Error.WriteLine($"[collector] {line}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new CollectorChild(process);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>User + system CPU time of the process so far.</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>Resident set size in bytes.</summary>
    public long Rss()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using var kill = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
