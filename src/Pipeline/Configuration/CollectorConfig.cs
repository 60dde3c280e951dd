namespace Collector.Pipeline.Configuration;

/// <summary>The whole collector.yaml after binding and validation: what the service builds and starts.</summary>
public sealed class CollectorConfig
{
    public required IReadOnlyDictionary<ComponentId, ComponentConfig> Receivers { get; init; }

    public required IReadOnlyDictionary<ComponentId, ComponentConfig> Processors { get; init; }

    public required IReadOnlyDictionary<ComponentId, ComponentConfig> Exporters { get; init; }

    public required IReadOnlyDictionary<ComponentId, ComponentConfig> Extensions { get; init; }

    public required ServiceConfig Service { get; init; }
}

/// <summary>The <c>service:</c> section.</summary>
public sealed class ServiceConfig
{
    /// <summary>Extensions to start, in order (service.extensions).</summary>
    public IReadOnlyList<ComponentId> Extensions { get; init; } = [];

    public TelemetryConfig Telemetry { get; init; } = new();

    public IReadOnlyDictionary<PipelineId, PipelineConfig> Pipelines { get; init; } = new Dictionary<PipelineId, PipelineConfig>();

    /// <summary>service.shutdown_timeout: how long SIGTERM may take to drain queues before the process exits.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>service.memory_limit: the memory gate of every pipeline that has no memory_limiter processor.</summary>
    public ServiceMemoryLimitConfig MemoryLimit { get; init; } = new();
}

/// <summary>service.telemetry.</summary>
public sealed class TelemetryConfig
{
    /// <summary>service.telemetry.logs.level: debug | info | warn | error.</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>service.telemetry.logs.format: json | text.</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>service.telemetry.metrics.endpoint (Prometheus /metrics); null disables it.</summary>
    public string? MetricsEndpoint { get; init; } = "localhost:8888";

    /// <summary>service.telemetry.metrics.level: none | basic | normal | detailed (as in the OpenTelemetry Collector).</summary>
    public string MetricsLevel { get; init; } = "normal";
}

/// <summary>A pipeline id as written in YAML: <c>traces</c> or <c>traces/name</c>.</summary>
public readonly record struct PipelineId(Signal Signal, string Name)
{
    public override string ToString() => Name.Length == 0 ? Signal.ToConfigName() : $"{Signal.ToConfigName()}/{Name}";

    public static bool TryParse(string text, out PipelineId id)
    {
        id = default;
        if (!ComponentId.TryParse(text, out var cid) || !SignalNames.TryParse(cid.Type, out var signal))
        {
            return false;
        }

        id = new PipelineId(signal, cid.Name);
        return true;
    }
}

/// <summary>service.pipelines.&lt;id&gt;.</summary>
public sealed class PipelineConfig
{
    public IReadOnlyList<ComponentId> Receivers { get; init; } = [];

    public IReadOnlyList<ComponentId> Processors { get; init; } = [];

    public IReadOnlyList<ComponentId> Exporters { get; init; } = [];

    /// <summary>queue_size: batches the pipeline's input channel holds (default 64).</summary>
    public int QueueSize { get; init; } = 64;

    /// <summary>
    /// submit_timeout: how long a receiver waits for room in a full input channel before it
    /// answers UNAVAILABLE / 503 with Retry-After (default 2s).
    /// </summary>
    public TimeSpan SubmitTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>durability: the door's write-ahead log; null (absent) when the pipeline keeps requests in memory only.</summary>
    public DurabilityConfig? Durability { get; init; }
}
