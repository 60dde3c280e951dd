using System.Globalization;

namespace Collector.LoadGen;

internal enum Protocol
{
    Grpc,
    HttpProtobuf,
    HttpJson,
}

internal enum Mode
{
    Constant,
    Saturation,
}

/// <summary>Command-line options; every one has a default that reproduces the reference run.</summary>
internal sealed record Options
{
    public Mode Mode { get; init; } = Mode.Constant;

    public string Workload { get; init; } = "testbed";

    public Protocol Protocol { get; init; } = Protocol.Grpc;

    /// <summary>Target spans per second (constant mode; the first step in saturation mode).</summary>
    public int Rate { get; init; } = 10_000;

    public int SpansPerRequest { get; init; } = 100;

    public int AttributesPerSpan { get; init; } = 50;

    public int Concurrency { get; init; } = 4;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Unrecorded constant load at the (first) rate before measuring, so JIT tiering and pools settle; zero disables.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Collector config to run; it reads LOADGEN_* environment variables for its endpoints.</summary>
    public string Config { get; init; } = "bench/LoadGen/configs/testbed.yaml";

    public string Collector { get; init; } = "src/Collector/bin/Release/net10.0/collector.dll";

    public string? JsonOutput { get; init; }

    /// <summary>Saturation: a step fails when client p99 exceeds this.</summary>
    public TimeSpan MaxP99 { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Saturation: each step multiplies the rate by this.</summary>
    public double StepFactor { get; init; } = 1.25;

    public int MaxSteps { get; init; } = 12;

    /// <summary>CPUs the collector child runs on (taskset -c LIST), e.g. "0" with the load generator under taskset -c 1.</summary>
    public string? CollectorCpus { get; init; }

    /// <summary>Extra environment for the collector child (e.g. DOTNET_GCHeapHardLimit).</summary>
    public Dictionary<string, string> CollectorEnvironment { get; init; } = [];

    /// <summary>Run <see cref="Config"/> with the pipelines' durability removed (see <see cref="CollectorConfigFile.WithoutDurability"/>).</summary>
    public bool WithoutDurability { get; init; }

    public const string Usage = """
        dotnet run -c Release --project bench/LoadGen -- [options]
          --mode constant|saturation     (constant)
          --workload testbed|llm         (testbed: 100 spans/request, 50 attributes/span)
          --protocol grpc|http|json      (grpc)
          --rate N                       target spans/s, or the first saturation step (10000)
          --spans-per-request N          (100)
          --attributes N                 attributes per span, testbed workload (50)
          --concurrency N                concurrent client requests (4); a pipeline that holds answers
                                         (write_ahead behind langtrace_merge: > 2 s) needs rate/spans*latency
          --duration 30s                 per run or per saturation step
          --warmup 10s                   unrecorded load at the (first) rate before measuring; 0 disables
          --config FILE                  collector config (bench/LoadGen/configs/testbed.yaml)
          --collector FILE               collector.dll, or a native AOT build (src/Collector/bin/Release/net10.0/collector.dll)
          --max-p99 100ms                saturation bound on client p99
          --step-factor 1.25 --max-steps 12
          --env NAME=VALUE               extra environment for the collector (repeatable)
          --collector-cpus LIST          run the collector under taskset -c LIST (e.g. 0, with the load generator under taskset -c 1)
          --without-durability           run the config with every pipeline's durability key removed (the same pipeline without durable ingress)
          --json FILE                    also write the report as JSON
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        var env = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--mode" => o with { Mode = Next() == "saturation" ? Mode.Saturation : Mode.Constant },
                "--workload" => o with { Workload = Next() },
                "--protocol" => o with { Protocol = Next() switch { "http" => Protocol.HttpProtobuf, "json" => Protocol.HttpJson, _ => Protocol.Grpc } },
                "--rate" => o with { Rate = Int(Next()) },
                "--spans-per-request" => o with { SpansPerRequest = Int(Next()) },
                "--attributes" => o with { AttributesPerSpan = Int(Next()) },
                "--concurrency" => o with { Concurrency = Int(Next()) },
                "--duration" => o with { Duration = Time(Next()) },
                "--warmup" => o with { Warmup = Time(Next()) },
                "--config" => o with { Config = Next() },
                "--collector" => o with { Collector = Next() },
                "--json" => o with { JsonOutput = Next() },
                "--max-p99" => o with { MaxP99 = Time(Next()) },
                "--step-factor" => o with { StepFactor = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--max-steps" => o with { MaxSteps = Int(Next()) },
                "--env" => AddEnv(o, env, Next()),
                "--collector-cpus" => o with { CollectorCpus = Next() },
                "--without-durability" => o with { WithoutDurability = true },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }

        if (o.Workload is not ("testbed" or "llm"))
        {
            throw new ArgumentException("--workload must be testbed or llm");
        }

        return o with { CollectorEnvironment = env };
    }

    private static Options AddEnv(Options o, Dictionary<string, string> env, string pair)
    {
        var eq = pair.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ArgumentException($"--env expects NAME=VALUE, got '{pair}'");
        }

        env[pair[..eq]] = pair[(eq + 1)..];
        return o;
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    private static TimeSpan Time(string s) => global::Collector.Pipeline.Configuration.Duration.TryParse(s, out var t) ? t : throw new ArgumentException($"'{s}' is not a duration");
}
