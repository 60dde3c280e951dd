using BenchmarkDotNet.Running;

namespace Collector.Bench;

/// <summary>
/// BenchmarkDotNet micro-benchmarks (dotnet run -c Release --project bench/Collector.Bench -- --filter '*')
/// plus named end-to-end runs registered in <see cref="Runs"/> (dotnet run ... -- run NAME).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "run")
        {
            return await Runs.RunAsync(args[1], args[2..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
