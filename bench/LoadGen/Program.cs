using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Collector.LoadGen;

/// <summary>
/// Load generator: starts the collector as a child process on a given config, sends OTLP trace
/// requests at a constant rate (or in rising steps until loss or latency breaks a bound) after an
/// unrecorded warm-up, checks at a loopback sink that every acknowledged span arrived (except the
/// dual-link duplicates a langtrace_merge processor drops), and reports spans/s, client latency,
/// the collector's CPU and RSS, and the raw protobuf decode+encode ceiling of the same payload.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n\n{Options.Usage}");
            return 64;
        }

        var template = Workloads.Create(options.Workload, options.SpansPerRequest, options.AttributesPerSpan);
        Console.Error.WriteLine($"workload {options.Workload}: {template.SpanCount} spans/request, {template.ProtobufSize:N0} bytes protobuf, {template.JsonSize:N0} bytes JSON");
        var ceiling = Runner.MeasureCeiling(template, TimeSpan.FromSeconds(3));
        Console.Error.WriteLine($"ceiling (Google.Protobuf decode+encode, one core): {ceiling:N0} spans/s");

        var steps = new List<StepResult>();
        await using (var runner = await Runner.StartAsync(options, template))
        {
            if (options.Warmup > TimeSpan.Zero)
            {
                await runner.WarmUpAsync(options.Rate, options.Warmup);
            }

            if (options.Mode == Mode.Constant)
            {
                steps.Add(await runner.RunStepAsync(options.Rate, options.Duration));
            }
            else
            {
                var rate = (double)options.Rate;
                for (var i = 0; i < options.MaxSteps; i++, rate *= options.StepFactor)
                {
                    var step = await runner.RunStepAsync(rate, options.Duration);
                    steps.Add(step);
                    if (!step.Clean(options))
                    {
                        break;
                    }
                }
            }
        }

        var report = new Report(options, template, ceiling, steps);
        Console.WriteLine(report.ToTable());
        if (options.JsonOutput is not null)
        {
            await File.WriteAllTextAsync(options.JsonOutput, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }
}

internal sealed record Report(Options Options, PayloadTemplate Template, double CeilingSpansPerSecond, List<StepResult> Steps)
{
    public string Workload => Options.Workload;

    public string Protocol => Options.Protocol.ToString();

    public string Config => Options.Config;

    public double WarmupSeconds => Options.Warmup.TotalSeconds;

    public int SpansPerRequest => Template.SpanCount;

    public double? SustainedSpansPerSecond
    {
        get
        {
            double? best = null;
            foreach (var s in Steps)
            {
                if (s.Clean(Options))
                {
                    best = Math.Max(best ?? 0, s.AchievedSpansPerSecond);
                }
            }

            return best;
        }
    }

    public string ToTable()
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"Collector load report: workload={Workload} protocol={Protocol} config={Config} warmup={WarmupSeconds:0.###}s spans/request={SpansPerRequest} cores={Environment.ProcessorCount}");
        sb.AppendLine(ci, $"ceiling: {CeilingSpansPerSecond:N0} spans/s (Google.Protobuf decode+encode of the same payload, one core)");
        sb.AppendLine("| target spans/s | achieved spans/s | % of ceiling | acked | expected | received | lost | dup | errors | p50 ms | p99 ms | CPU % of 1 core | loadgen CPU % | RSS avg MiB | RSS max MiB | RSS first->last MiB |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in Steps)
        {
            var errors = s.Errors.Count == 0 ? "0" : string.Join(" ", s.Errors.Select(e => $"{e.Key}:{e.Value}"));
            sb.AppendLine(ci, $"| {s.TargetSpansPerSecond:N0} | {s.AchievedSpansPerSecond:N0} | {100 * s.AchievedSpansPerSecond / CeilingSpansPerSecond:0.0}% | {s.SpansAcked:N0} | {s.SpansExpected:N0} | {s.SpansReceived:N0} | {s.SpansLost:N0} | {s.Duplicates:N0} | {errors} | {s.P50Ms:0.0} | {s.P99Ms:0.0} | {s.CollectorCpuPercentOfOneCore:0.0} | {s.LoadGenCpuPercentOfOneCore:0.0} | {s.RssAvgMiB:0.0} | {s.RssMaxMiB:0.0} | {s.RssFirstMiB:0.0}->{s.RssLastMiB:0.0} |");
        }

        if (Options.Mode == Mode.Saturation)
        {
            sb.AppendLine(ci, $"sustained without loss, errors or p99 > {Options.MaxP99.TotalMilliseconds:0} ms: {(SustainedSpansPerSecond is { } v ? v.ToString("N0", ci) + " spans/s" : "none")}");
        }

        return sb.ToString();
    }
}
