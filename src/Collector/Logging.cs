using Collector.Pipeline.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Collector;

/// <summary>Serilog from service.telemetry.logs: level and json|text format, to stderr.</summary>
internal static class Logging
{
    public static Logger Create(TelemetryConfig telemetry)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(ParseLevel(telemetry.LogLevel))
            // Kestrel and ASP.NET chatter stays below the collector's own messages.
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            // Lines from the service itself (start, drain, memory limit) have no component; name it so the column never reads blank.
            // Property enrichers only add when absent, so a component's own ForContext("component", ...) wins.
            .Enrich.WithProperty("component", "service");
        configuration = telemetry.LogFormat == "json"
            ? configuration.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose)
            : configuration.WriteTo.Console(outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {Level:u3} {component} {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: LogEventLevel.Verbose);
        return configuration.CreateLogger();
    }

    public static LogEventLevel ParseLevel(string level) => level switch
    {
        "debug" => LogEventLevel.Debug,
        "warn" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        _ => LogEventLevel.Information,
    };
}
