using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Pipeline;

public enum ComponentKind
{
    Receiver,
    Processor,
    Exporter,
    Extension,
}

/// <summary>Start/stop contract of every component. Shutdown is safe before start and when called twice.</summary>
public interface IComponent
{
    Task StartAsync(CancellationToken cancellationToken);

    Task ShutdownAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Takes ownership of a batch. Implementations never block indefinitely: a component that
/// cannot take more either waits within its own bounded budget, drops and counts, or settles
/// the batch's acks as failed.
/// </summary>
public interface IConsumer<T>
    where T : class, IMessage<T>
{
    /// <summary>True when this consumer changes batches in place; fan-out clones for such consumers.</summary>
    bool MutatesData { get; }

    ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken);
}

public interface IProcessor<T> : IConsumer<T>, IComponent
    where T : class, IMessage<T>
{
}

public interface IExporter<T> : IConsumer<T>, IComponent
    where T : class, IMessage<T>
{
    /// <summary>True when this exporter acknowledges only after the batch is durable (write-ahead spool).</summary>
    bool RequiresDurableAck { get; }
}

public interface IReceiver : IComponent
{
}

public interface IExtension : IComponent
{
}

/// <summary>
/// Decides at the door whether a pipeline can take more data now (for example the memory
/// limiter), so that refusals reach the client as UNAVAILABLE / 503 instead of being dropped later.
/// </summary>
public interface IAdmissionControl
{
    /// <summary>Null when admitted, else the refusal reason (the gate counts the refusal).</summary>
    string? CheckAdmission(long incomingBytes);

    /// <summary>True while <see cref="CheckAdmission"/> would refuse; reading it counts nothing (a durable door's replay waits on it).</summary>
    bool IsRefusing { get; }
}

/// <summary>
/// An admission control that bounds memory (the memory_limiter processor). A pipeline that has
/// none gets the service's default memory limit (service.memory_limit) at its door instead.
/// </summary>
internal interface IMemoryAdmission : IAdmissionControl
{
}

/// <summary>What a component gets from the collector when it is created.</summary>
public sealed record ComponentContext(
    ComponentId Id,
    Serilog.ILogger Logger,
    SelfMetrics Metrics,
    SharedComponents Shared)
{
    /// <summary>Pipeline this instance serves ("traces/main"); empty for receivers and extensions.</summary>
    public string PipelineId { get; init; } = string.Empty;
}

/// <summary>
/// Lets a factory hand out one instance per component id across pipelines (a receiver listed in
/// several pipelines, or langtrace_merge listed in a traces and a logs pipeline).
/// </summary>
public sealed class SharedComponents
{
    private readonly Dictionary<ComponentId, object> _instances = [];
    private readonly Lock _lock = new();

    public TShared GetOrAdd<TShared>(ComponentId id, Func<TShared> create)
        where TShared : class
    {
        lock (_lock)
        {
            if (_instances.TryGetValue(id, out var existing))
            {
                return (TShared)existing;
            }

            var created = create();
            _instances[id] = created;
            return created;
        }
    }
}

/// <summary>Where a receiver delivers each signal: one entry per pipeline that lists it, null when none does.</summary>
public sealed class ReceiverTargets
{
    public IReadOnlyList<IPipelineEntry<OpenTelemetry.Proto.Trace.V1.ResourceSpans>> Traces { get; init; } = [];

    public IReadOnlyList<IPipelineEntry<OpenTelemetry.Proto.Metrics.V1.ResourceMetrics>> Metrics { get; init; } = [];

    public IReadOnlyList<IPipelineEntry<OpenTelemetry.Proto.Logs.V1.ResourceLogs>> Logs { get; init; } = [];
}

/// <summary>The outcome of handing a client's request to a pipeline.</summary>
public readonly record struct SubmitResult(SubmitStatus Status, string? Reason = null, TimeSpan RetryAfter = default)
{
    public static SubmitResult Accepted => new(SubmitStatus.Accepted);

    public static SubmitResult Refused(string reason, TimeSpan retryAfter) => new(SubmitStatus.Refused, reason, retryAfter);
}

public enum SubmitStatus
{
    /// <summary>Taken (and durable where the pipeline requires it).</summary>
    Accepted,

    /// <summary>Not taken now; the client should retry (UNAVAILABLE / 503 + Retry-After).</summary>
    Refused,
}

/// <summary>The door of a pipeline: receivers submit client data here.</summary>
public interface IPipelineEntry<T>
    where T : class, IMessage<T>
{
    ValueTask<SubmitResult> SubmitAsync(Batch<T> batch, CancellationToken cancellationToken);
}

/// <summary>
/// A factory as the collector sees it: its type, its default config and its declaration (the
/// signals it creates, with their stability, and the metrics its components register). Write a
/// factory by deriving from <see cref="ReceiverFactory{TConfig}"/>, <see cref="ProcessorFactory{TConfig}"/>,
/// <see cref="ExporterFactory{TConfig}"/> or <see cref="ExtensionFactory{TConfig}"/>.
/// </summary>
public interface IComponentFactory
{
    /// <summary>Type name in lower_snake_case as written in YAML ("otlp", "memory_limiter").</summary>
    string Type { get; }

    ComponentKind Kind { get; }

    ComponentMetadata Metadata { get; }

    /// <summary>A fresh config carrying every default; YAML is bound on top of it.</summary>
    ComponentConfig CreateDefaultConfig();
}

public interface IReceiverFactory : IComponentFactory
{
    IReceiver CreateReceiver(ComponentContext context, ComponentConfig config, ReceiverTargets targets);
}

public interface IProcessorFactory : IComponentFactory
{
    /// <summary>The processor this factory declared for <typeparamref name="T"/>'s signal.</summary>
    IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T>;
}

public interface IExporterFactory : IComponentFactory
{
    /// <summary>The exporter this factory declared for <typeparamref name="T"/>'s signal.</summary>
    IExporter<T> CreateExporter<T>(ComponentContext context, ComponentConfig config)
        where T : class, IMessage<T>;
}

public interface IExtensionFactory : IComponentFactory
{
    IExtension CreateExtension(ComponentContext context, ComponentConfig config, ICollectorStatus status);
}

/// <summary>What extensions (health_check) may observe of the running collector.</summary>
public interface ICollectorStatus
{
    CollectorState State { get; }
}

public enum CollectorState
{
    Starting,
    Running,
    Draining,
    Stopped,
}
