using System.Reflection;
using System.Runtime.InteropServices;
using Collector.Pipeline.Configuration;

namespace Collector;

/// <summary>
/// <c>collector --config FILE</c> runs until SIGINT/SIGTERM, then drains within
/// service.shutdown_timeout; <c>collector validate --config FILE</c> checks and lists every error.
/// </summary>
internal static class Cli
{
    public const int ExitOk = 0;
    public const int ExitRuntimeError = 1;
    public const int ExitConfigError = 2;
    public const int ExitUsage = 64;

    private const string Usage = """
        Usage:
          collector --config FILE            run the collector until SIGINT/SIGTERM (-c FILE is the same)
          collector validate --config FILE   check the config, list every error, exit non-zero on any
          collector --help | --version

        Exit codes: 0 stopped cleanly, 1 could not start (a port in use, a certificate that does not load,
        an unusable spool: one line naming the config key), 2 config error, 64 bad usage.

        Config: OpenTelemetry Collector shape (receivers, processors, exporters, extensions, service).
        ${env:NAME} and ${env:NAME:-default} expand from the environment.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var validateOnly = false;
        string? configPath = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help" or "help":
                    await stdout.WriteLineAsync(Usage);
                    return ExitOk;
                case "-v" or "--version" or "version":
                    await stdout.WriteLineAsync($"collector {Version}");
                    return ExitOk;
                case "validate" when i == 0:
                    validateOnly = true;
                    break;
                case "--config" or "-c" when i + 1 < args.Length:
                    configPath = args[++i];
                    break;
                default:
                    if (args[i].StartsWith("--config=", StringComparison.Ordinal))
                    {
                        configPath = args[i]["--config=".Length..];
                        break;
                    }

                    await stderr.WriteLineAsync($"unknown argument '{args[i]}'\n\n{Usage}");
                    return ExitUsage;
            }
        }

        if (configPath is null)
        {
            await stderr.WriteLineAsync($"--config FILE is required\n\n{Usage}");
            return ExitUsage;
        }

        if (Directory.Exists(configPath))
        {
            // File.ReadAllText on a directory says "access denied", which sends people to chmod.
            await stderr.WriteLineAsync($"{configPath}: is a directory; --config takes a YAML file (e.g. {Path.Combine(configPath, "collector.yaml")})");
            return ExitConfigError;
        }

        var registry = CollectorComponents.CreateRegistry();
        var loaded = ConfigLoader.LoadFile(configPath, registry);
        if (!loaded.Ok)
        {
            return await ConfigErrorsAsync(stderr, configPath, loaded.Errors);
        }

        if (validateOnly)
        {
            // What a start would stop at (a spool directory that cannot hold its file) is a config error here.
            var problems = ConfigLoader.CheckEnvironment(loaded.Config!);
            if (problems.Count > 0)
            {
                return await ConfigErrorsAsync(stderr, configPath, problems);
            }

            await stdout.WriteLineAsync($"{configPath}: configuration is valid ({loaded.Config!.Service.Pipelines.Count} pipelines)");
            return ExitOk;
        }

        return await RunUntilSignalAsync(loaded.Config!, registry);
    }

    private static async Task<int> ConfigErrorsAsync(TextWriter stderr, string configPath, IReadOnlyList<string> errors)
    {
        await stderr.WriteLineAsync($"{configPath}: {errors.Count} config error(s):");
        foreach (var error in errors)
        {
            await stderr.WriteLineAsync($"  {error}");
        }

        return ExitConfigError;
    }

    private static async Task<int> RunUntilSignalAsync(CollectorConfig config, ComponentRegistry registry)
    {
        using var logger = Logging.Create(config.Service.Telemetry);
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            logger.Information("Received {Signal}: shutting down", context.Signal);
            stop.TrySetResult();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        await using var host = new CollectorHost(config, registry, logger);
        try
        {
            await host.StartAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            // One line naming the config key (ServerStartException, SpoolUnavailableException carry it);
            // the stack is for developers, at debug.
            logger.Fatal("Collector failed to start: {Error}", e.Message);
            logger.Debug(e, "Start failure detail");
            await host.StopAsync(config.Service.ShutdownTimeout);
            return ExitRuntimeError;
        }

        await stop.Task;
        await host.StopAsync(config.Service.ShutdownTimeout);
        return ExitOk;
    }

    private static string Version =>
        typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
