namespace Collector.Pipeline.Configuration;

/// <summary>
/// The <c>service:</c> section as written in YAML, bound by <see cref="ConfigBinder"/> and then
/// checked and turned into <see cref="ServiceConfig"/> by <see cref="ConfigLoader"/>.
/// Defaults come from the model classes so they are stated once.
/// </summary>
internal sealed class ServiceSection
{
    private static readonly ServiceConfig Defaults = new();

    public List<ComponentId> Extensions { get; set; } = [];

    public TelemetrySection Telemetry { get; set; } = new();

    public TimeSpan ShutdownTimeout { get; set; } = Defaults.ShutdownTimeout;

    /// <summary>service.memory_limit; bound onto a fresh config so that its defaults are the model's.</summary>
    public ServiceMemoryLimitConfig MemoryLimit { get; set; } = new();

    /// <summary>Keyed by the pipeline id as written ("traces/main"); parsed and checked by the loader.</summary>
    public Dictionary<string, PipelineConfig> Pipelines { get; set; } = [];
}

/// <summary>service.telemetry.</summary>
internal sealed class TelemetrySection
{
    public LogsSection Logs { get; set; } = new();

    public MetricsSection Metrics { get; set; } = new();
}

/// <summary>service.telemetry.logs.</summary>
internal sealed class LogsSection
{
    private static readonly TelemetryConfig Defaults = new();

    public TelemetryLogLevel Level { get; set; } = Enum.Parse<TelemetryLogLevel>(Defaults.LogLevel, ignoreCase: true);

    public TelemetryLogFormat Format { get; set; } = Enum.Parse<TelemetryLogFormat>(Defaults.LogFormat, ignoreCase: true);
}

/// <summary>service.telemetry.metrics.</summary>
internal sealed class MetricsSection
{
    private static readonly TelemetryConfig Defaults = new();

    /// <summary>host:port of the Prometheus /metrics listener; null switches it off.</summary>
    public string? Endpoint { get; set; } = Defaults.MetricsEndpoint;

    public TelemetryMetricsLevel Level { get; set; } = Enum.Parse<TelemetryMetricsLevel>(Defaults.MetricsLevel, ignoreCase: true);
}

internal enum TelemetryLogLevel
{
    Debug,
    Info,
    Warn,
    Error,
}

internal enum TelemetryLogFormat
{
    Json,
    Text,
}

internal enum TelemetryMetricsLevel
{
    None,
    Basic,
    Normal,
    Detailed,
}
