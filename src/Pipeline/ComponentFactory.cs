using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline;

public delegate IProcessor<T> CreateProcessor<in TConfig, T>(ComponentContext context, TConfig config, IConsumer<T> next)
    where TConfig : ComponentConfig
    where T : class, IMessage<T>;

public delegate IExporter<T> CreateExporter<in TConfig, T>(ComponentContext context, TConfig config)
    where TConfig : ComponentConfig
    where T : class, IMessage<T>;

/// <summary>
/// The kit every factory is written with: type, default config and, per signal, how the
/// component is created and how stable it is (the OpenTelemetry Collector's
/// <c>processor.NewFactory(type, createDefaultConfig, processor.WithTraces(create, stability))</c>).
/// The graph builder and <c>validate</c> ask the declaration, never the component
/// (docs/architecture.md, "Component contract").
/// </summary>
public abstract class ComponentFactory<TConfig> : IComponentFactory
    where TConfig : ComponentConfig
{
    private readonly Func<TConfig> _createDefaultConfig;
    private readonly Delegate?[] _creators = new Delegate?[3];

    private protected ComponentFactory(string type, ComponentKind kind, Func<TConfig> createDefaultConfig)
    {
        Type = type;
        Kind = kind;
        _createDefaultConfig = createDefaultConfig;
    }

    public string Type { get; }

    public ComponentKind Kind { get; }

    public ComponentMetadata Metadata { get; private set; } = ComponentMetadata.Empty;

    public ComponentConfig CreateDefaultConfig() => _createDefaultConfig();

    /// <summary>Declares the self-metrics the components register (checked by the contract test and the README check).</summary>
    protected void Registers(params IEnumerable<MetricInfo> metrics) => Metadata = Metadata.WithMetrics(metrics);

    private protected void Declare(Signal signal, Stability stability, Delegate? create)
    {
        Metadata = Metadata.WithSignal(signal, stability);
        _creators[(int)signal] = create;
    }

    private protected TCreate Creator<TCreate, T>()
        where TCreate : Delegate
        where T : class, IMessage<T>
    {
        var signal = SignalOps<T>.Instance.Signal;
        return _creators[(int)signal] as TCreate ?? throw new NotSupportedException($"{Type} does not support {signal.ToConfigName()}");
    }

    /// <summary>The config this factory's <see cref="CreateDefaultConfig"/> made (the loader binds YAML onto it).</summary>
    private protected TConfig Typed(ComponentConfig config) =>
        config as TConfig ?? throw new ArgumentException($"{Type} takes a {typeof(TConfig).Name}, got {config.GetType().Name}", nameof(config));
}

/// <summary>A receiver is one instance for every signal it is listed for; it declares which signals it can deliver.</summary>
public abstract class ReceiverFactory<TConfig>(string type, Func<TConfig> createDefaultConfig, Func<ComponentContext, TConfig, ReceiverTargets, IReceiver> create)
    : ComponentFactory<TConfig>(type, ComponentKind.Receiver, createDefaultConfig), IReceiverFactory
    where TConfig : ComponentConfig
{
    public IReceiver CreateReceiver(ComponentContext context, ComponentConfig config, ReceiverTargets targets) =>
        create(context, Typed(config), targets);

    protected void WithTraces(Stability stability) => Declare(Signal.Traces, stability, null);

    protected void WithMetrics(Stability stability) => Declare(Signal.Metrics, stability, null);

    protected void WithLogs(Stability stability) => Declare(Signal.Logs, stability, null);
}

public abstract class ProcessorFactory<TConfig>(string type, Func<TConfig> createDefaultConfig)
    : ComponentFactory<TConfig>(type, ComponentKind.Processor, createDefaultConfig), IProcessorFactory
    where TConfig : ComponentConfig
{
    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T> =>
        Creator<CreateProcessor<TConfig, T>, T>()(context, Typed(config), next);

    protected void WithTraces(CreateProcessor<TConfig, ResourceSpans> create, Stability stability) => Declare(Signal.Traces, stability, create);

    protected void WithMetrics(CreateProcessor<TConfig, ResourceMetrics> create, Stability stability) => Declare(Signal.Metrics, stability, create);

    protected void WithLogs(CreateProcessor<TConfig, ResourceLogs> create, Stability stability) => Declare(Signal.Logs, stability, create);
}

public abstract class ExporterFactory<TConfig>(string type, Func<TConfig> createDefaultConfig)
    : ComponentFactory<TConfig>(type, ComponentKind.Exporter, createDefaultConfig), IExporterFactory
    where TConfig : ComponentConfig
{
    public IExporter<T> CreateExporter<T>(ComponentContext context, ComponentConfig config)
        where T : class, IMessage<T> =>
        Creator<CreateExporter<TConfig, T>, T>()(context, Typed(config));

    protected void WithTraces(CreateExporter<TConfig, ResourceSpans> create, Stability stability) => Declare(Signal.Traces, stability, create);

    protected void WithMetrics(CreateExporter<TConfig, ResourceMetrics> create, Stability stability) => Declare(Signal.Metrics, stability, create);

    protected void WithLogs(CreateExporter<TConfig, ResourceLogs> create, Stability stability) => Declare(Signal.Logs, stability, create);
}

/// <summary>Extensions carry no signal.</summary>
public abstract class ExtensionFactory<TConfig>(string type, Func<TConfig> createDefaultConfig, Func<ComponentContext, TConfig, ICollectorStatus, IExtension> create)
    : ComponentFactory<TConfig>(type, ComponentKind.Extension, createDefaultConfig), IExtensionFactory
    where TConfig : ComponentConfig
{
    public IExtension CreateExtension(ComponentContext context, ComponentConfig config, ICollectorStatus status) =>
        create(context, Typed(config), status);
}

/// <summary>
/// A processor written once for every signal (batch, memory_limiter, redaction): one generic
/// static create, given once per signal (<c>Create, Create, Create</c>), and one stability.
/// The creates are static methods, not a generic virtual one: native AOT cannot bind a delegate
/// to a generic virtual method.
/// </summary>
public abstract class EverySignalProcessorFactory<TConfig> : ProcessorFactory<TConfig>
    where TConfig : ComponentConfig
{
    protected EverySignalProcessorFactory(
        string type,
        Func<TConfig> createDefaultConfig,
        Stability stability,
        CreateProcessor<TConfig, ResourceSpans> traces,
        CreateProcessor<TConfig, ResourceMetrics> metrics,
        CreateProcessor<TConfig, ResourceLogs> logs,
        params IEnumerable<MetricInfo> registers)
        : base(type, createDefaultConfig)
    {
        WithTraces(traces, stability);
        WithMetrics(metrics, stability);
        WithLogs(logs, stability);
        Registers(registers);
    }
}

/// <summary>An exporter written once for every signal (otlp, otlphttp, debug); as <see cref="EverySignalProcessorFactory{TConfig}"/>.</summary>
public abstract class EverySignalExporterFactory<TConfig> : ExporterFactory<TConfig>
    where TConfig : ComponentConfig
{
    protected EverySignalExporterFactory(
        string type,
        Func<TConfig> createDefaultConfig,
        Stability stability,
        CreateExporter<TConfig, ResourceSpans> traces,
        CreateExporter<TConfig, ResourceMetrics> metrics,
        CreateExporter<TConfig, ResourceLogs> logs,
        params IEnumerable<MetricInfo> registers)
        : base(type, createDefaultConfig)
    {
        WithTraces(traces, stability);
        WithMetrics(metrics, stability);
        WithLogs(logs, stability);
        Registers(registers);
    }
}
