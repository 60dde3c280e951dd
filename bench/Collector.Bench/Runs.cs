namespace Collector.Bench;

/// <summary>End-to-end measurements that are not BenchmarkDotNet jobs (whole collectors over loopback).</summary>
public static class Runs
{
    /// <summary>Each end-to-end run adds one entry: name -> entry point taking the remaining arguments.</summary>
    private static readonly Dictionary<string, Func<string[], Task<int>>> Registered = new(StringComparer.Ordinal)
    {
        ["spool"] = SpoolRun.RunAsync,
    };

    public static async Task<int> RunAsync(string name, string[] args)
    {
        if (!Registered.TryGetValue(name, out var run))
        {
            await Console.Error.WriteLineAsync($"unknown run '{name}'; known: {string.Join(", ", Registered.Keys.Order(StringComparer.Ordinal))}");
            return 64;
        }

        return await run(args);
    }
}
