using System.Diagnostics;
using System.Text;

namespace Collector.Tests.TestSupport;

/// <summary>
/// The collector as a real child process (the built collector.dll next to the tests), for
/// signal handling, exit codes and kill -9 tests.
/// </summary>
internal sealed class CollectorProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private CollectorProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process printed on stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static CollectorProcess Start(params string[] args) =>
        StartExecutable("dotnet", [Path.Combine(AppContext.BaseDirectory, "collector.dll"), .. args]);

    /// <summary>Starts the collector with these environment variables added (e.g. DOTNET_GCHeapHardLimit).</summary>
    public static CollectorProcess StartWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Launch("dotnet", environment, [Path.Combine(AppContext.BaseDirectory, "collector.dll"), .. args]);

    /// <summary>Starts <paramref name="executable"/> (e.g. a native AOT build of the collector) with <paramref name="args"/>.</summary>
    public static CollectorProcess StartExecutable(string executable, params string[] args) =>
        Launch(executable, new Dictionary<string, string>(), args);

    /// <summary>VmRSS of the process from /proc/&lt;pid&gt;/status, in bytes; 0 once it has exited.</summary>
    public long ResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    // "VmRSS:    123456 kB"
                    var kb = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    return kb * 1024;
                }
            }
        }
        catch (IOException)
        {
            // Exited between the check and the read.
        }

        return 0;
    }

    private static CollectorProcess Launch(string executable, IReadOnlyDictionary<string, string> environment, string[] args)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new CollectorProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start " + executable));
    }

    /// <summary>Runs to completion (for validate/--help) and returns the exit code.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var p = Start(args);
        var exit = await p.WaitForExitAsync(timeout);
        return (exit, p.Output);
    }

    /// <summary>Polls the health_check extension on <paramref name="healthPort"/> until it answers 200: the collector has started.</summary>
    public async Task WaitUntilHealthyAsync(int healthPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{healthPort}/"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (HasExited || DateTime.UtcNow > deadline)
            {
                Assert.Fail("the collector did not become healthy:\n" + Output);
            }

            await Task.Delay(50);
        }
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"collector did not exit within {timeout.TotalSeconds}s; output:\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
