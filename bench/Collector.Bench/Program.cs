using BenchmarkDotNet.Running;

namespace Collector.Bench;

/// <summary>Runs the benchmark classes of this assembly chosen by BenchmarkDotNet's command line (--filter, --job, ...).</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
