using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline.Graph;

/// <summary>
/// Builds the component graph from a validated config and runs it: extensions, then exporters,
/// processors and pipeline doors, then receivers last; shutdown in the opposite order so that
/// everything already received drains downstream before exporters stop.
/// </summary>
public sealed class CollectorService : ICollectorStatus
{
    private readonly CollectorConfig _config;
    private readonly ComponentRegistry _registry;
    private readonly Serilog.ILogger _logger;
    private readonly SharedComponents _shared = new();
    private readonly List<IExtension> _extensions = [];
    private readonly List<IComponent> _exporters = [];
    private readonly List<IComponent> _processors = [];
    private readonly List<(Func<CancellationToken, Task> Drain, Action Start)> _entries = [];

    /// <summary>Durable doors' logs, closed after the exporters so that the last acks release their rows.</summary>
    private readonly List<Func<CancellationToken, Task>> _ingressLogs = [];
    private readonly List<IReceiver> _receivers = [];
    private readonly Dictionary<(ComponentId, Signal), object> _exporterInstances = [];
    private readonly Dictionary<ComponentId, (List<IPipelineEntry<ResourceSpans>> Traces, List<IPipelineEntry<ResourceMetrics>> Metrics, List<IPipelineEntry<ResourceLogs>> Logs)> _receiverTargets = [];
    private readonly List<string> _pipelinesWithoutMemoryLimiter = [];
    private MemoryGate? _defaultMemoryGate;
    private volatile CollectorState _state = CollectorState.Starting;
    private int _shutdownStarted;

    public CollectorService(CollectorConfig config, ComponentRegistry registry, Serilog.ILogger logger, SelfMetrics metrics)
    {
        _config = config;
        _registry = registry;
        _logger = logger;
        Metrics = metrics;
    }

    public CollectorState State => _state;

    public SelfMetrics Metrics { get; }

    /// <summary>The started receivers, for tests and the CLI to read bound ports.</summary>
    public IReadOnlyList<IReceiver> Receivers => _receivers;

    public IReadOnlyList<IExtension> Extensions => _extensions;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var id in _config.Service.Extensions)
        {
            var factory = _registry.Get<IExtensionFactory>(ComponentKind.Extension, id.Type);
            var extension = factory.CreateExtension(Context(id, ComponentKind.Extension), _config.Extensions[id], this);
            _extensions.Add(extension);
            await extension.StartAsync(cancellationToken);
        }

        foreach (var (id, pipeline) in _config.Service.Pipelines)
        {
            switch (id.Signal)
            {
                case Signal.Traces: BuildPipeline<ResourceSpans>(id, pipeline, t => t.Traces); break;
                case Signal.Metrics: BuildPipeline<ResourceMetrics>(id, pipeline, t => t.Metrics); break;
                case Signal.Logs: BuildPipeline<ResourceLogs>(id, pipeline, t => t.Logs); break;
            }
        }

        LogDefaultMemoryLimit();

        foreach (var exporter in _exporters)
        {
            await exporter.StartAsync(cancellationToken);
        }

        // Downstream first: the last processor of a pipeline is ready before the one feeding it.
        for (var i = _processors.Count - 1; i >= 0; i--)
        {
            await _processors[i].StartAsync(cancellationToken);
        }

        if (_defaultMemoryGate is not null)
        {
            await _defaultMemoryGate.StartAsync();
        }

        foreach (var (_, start) in _entries)
        {
            start();
        }

        foreach (var (id, targets) in _receiverTargets)
        {
            var factory = _registry.Get<IReceiverFactory>(ComponentKind.Receiver, id.Type);
            var receiver = factory.CreateReceiver(
                Context(id, ComponentKind.Receiver),
                _config.Receivers[id],
                new ReceiverTargets { Traces = targets.Traces, Metrics = targets.Metrics, Logs = targets.Logs });
            _receivers.Add(receiver);
            await receiver.StartAsync(cancellationToken);
        }

        _state = CollectorState.Running;
        _logger.Information("Collector running: {Pipelines} pipelines, {Receivers} receivers, {Exporters} exporters", _config.Service.Pipelines.Count, _receivers.Count, _exporterInstances.Count);
    }

    /// <summary>Stops receivers, drains pipelines and exporters within the token's budget. Safe to call twice or before start.</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _shutdownStarted, 1) == 1)
        {
            return;
        }

        _state = CollectorState.Draining;
        _logger.Information("Collector draining");
        await StopAllAsync(_receivers, c => c.ShutdownAsync(cancellationToken));
        await StopAllAsync(_entries, e => e.Drain(cancellationToken));
        if (_defaultMemoryGate is not null)
        {
            await StopAllAsync([_defaultMemoryGate], g => g.StopAsync());
        }

        await StopAllAsync(_processors, c => c.ShutdownAsync(cancellationToken));
        await StopAllAsync(_exporters, c => c.ShutdownAsync(cancellationToken));
        await StopAllAsync(_ingressLogs, close => close(cancellationToken));
        await StopAllAsync(_extensions, c => c.ShutdownAsync(cancellationToken));
        _state = CollectorState.Stopped;
        _logger.Information("Collector stopped");
    }

    private async Task StopAllAsync<TItem>(IEnumerable<TItem> items, Func<TItem, Task> stop)
    {
        foreach (var item in items)
        {
            try
            {
                await stop(item);
            }
            catch (OperationCanceledException)
            {
                _logger.Warning("Shutdown grace period ran out while stopping {Component}", item);
            }
            catch (Exception e)
            {
                _logger.Error(e, "Error while stopping {Component}", item);
            }
        }
    }

    private void BuildPipeline<T>(
        PipelineId id,
        PipelineConfig pipeline,
        Func<(List<IPipelineEntry<ResourceSpans>> Traces, List<IPipelineEntry<ResourceMetrics>> Metrics, List<IPipelineEntry<ResourceLogs>> Logs), List<IPipelineEntry<T>>> targetsOf)
        where T : class, IMessage<T>
    {
        var exporters = new List<IConsumer<T>>(pipeline.Exporters.Count);
        var exporterGates = new List<IAdmissionControl>();
        var durable = false;
        foreach (var exporterId in pipeline.Exporters)
        {
            var exporter = GetExporter<T>(exporterId, id.Signal);
            durable |= exporter.RequiresDurableAck;
            exporters.Add(exporter);

            // A full sending queue (on_full: reject) refuses at the door, before more is accepted.
            if (exporter is IAdmissionControl exporterGate)
            {
                exporterGates.Add(exporterGate);
            }
        }

        IConsumer<T> next = exporters.Count == 1 ? exporters[0] : new Graph.FanOutConsumer<T>(exporters);
        var admission = new List<IAdmissionControl>();
        var chain = new List<IComponent>(pipeline.Processors.Count);
        for (var i = pipeline.Processors.Count - 1; i >= 0; i--)
        {
            var processorId = pipeline.Processors[i];
            var factory = _registry.Get<IProcessorFactory>(ComponentKind.Processor, processorId.Type);
            var context = Context(processorId, ComponentKind.Processor) with { PipelineId = id.ToString() };
            var processor = factory.CreateProcessor(context, _config.Processors[processorId], next);
            if (processor is IAdmissionControl gate)
            {
                admission.Insert(0, gate);
            }

            chain.Insert(0, processor);
            next = processor;
        }

        AddDefaultMemoryLimit(id, admission);

        // The memory gates first (they protect the process), then the exporters' full queues.
        admission.AddRange(exporterGates);
        _processors.AddRange(chain);
        var logger = _logger.ForContext("pipeline", id.ToString());
        IngressLog<T>? log = null;
        if (pipeline.Durability is { } durability)
        {
            log = IngressLog<T>.Open(id, durability, Metrics, logger);
            _ingressLogs.Add(log.CloseAsync);
        }

        var entry = new PipelineEntry<T>(id, pipeline, next, admission, durable, Metrics, logger, log);
        _entries.Add((entry.DrainAsync, entry.Start));
        foreach (var receiverId in pipeline.Receivers)
        {
            if (!_receiverTargets.TryGetValue(receiverId, out var targets))
            {
                targets = ([], [], []);
                _receiverTargets[receiverId] = targets;
            }

            targetsOf(targets).Add(entry);
        }
    }

    /// <summary>
    /// A pipeline without a memory_limiter still refuses at its door when managed memory passes
    /// service.memory_limit (issue 14, loss path 7: a slow backend grew RSS until the process
    /// died). One gate serves every such pipeline, first in its admission list as memory_limiter
    /// would be.
    /// </summary>
    private void AddDefaultMemoryLimit(PipelineId id, List<IAdmissionControl> admission)
    {
        foreach (var gate in admission)
        {
            if (gate is IMemoryAdmission)
            {
                return;
            }
        }

        _pipelinesWithoutMemoryLimiter.Add(id.ToString());
        var settings = _config.Service.MemoryLimit;
        if (!settings.Enabled)
        {
            return;
        }

        if (_defaultMemoryGate is null)
        {
            _defaultMemoryGate = new MemoryGate(
                settings,
                MemoryBudget.OfThisProcess(),
                MemoryGate.ManagedHeapBytes,
                Metrics.Counter(ServiceMemoryLimitMetrics.Refused.Name, ServiceMemoryLimitMetrics.Refused.Description),
                Metrics.Counter(ServiceMemoryLimitMetrics.ForcedGc.Name, ServiceMemoryLimitMetrics.ForcedGc.Description),
                _logger.ForContext("component", "service.memory_limit"),
                "memory limit exceeded (service.memory_limit)");
            var limits = _defaultMemoryGate.Limits;
            Metrics.Gauge(ServiceMemoryLimitMetrics.Used.Name, ServiceMemoryLimitMetrics.Used.Description, () => MemoryGate.ManagedHeapBytes());
            Metrics.Gauge(ServiceMemoryLimitMetrics.SoftLimit.Name, ServiceMemoryLimitMetrics.SoftLimit.Description, () => limits.SoftBytes);
        }

        admission.Insert(0, _defaultMemoryGate);
    }

    /// <summary>Says at start which memory limit the pipelines without memory_limiter have and where it came from.</summary>
    private void LogDefaultMemoryLimit()
    {
        if (_pipelinesWithoutMemoryLimiter.Count == 0)
        {
            return;
        }

        var pipelines = string.Join(", ", _pipelinesWithoutMemoryLimiter);
        if (_defaultMemoryGate is null)
        {
            _logger.Warning("service.memory_limit is disabled: pipelines {Pipelines} take data whatever the memory use", pipelines);
            return;
        }

        _logger.Information("Default memory limit (service.memory_limit) for pipelines without memory_limiter ({Pipelines}) {Limits}", pipelines, _defaultMemoryGate.Description);
    }

    private IExporter<T> GetExporter<T>(ComponentId id, Signal signal)
        where T : class, IMessage<T>
    {
        if (_exporterInstances.TryGetValue((id, signal), out var existing))
        {
            return (IExporter<T>)existing;
        }

        var factory = _registry.Get<IExporterFactory>(ComponentKind.Exporter, id.Type);
        var exporter = factory.CreateExporter<T>(Context(id, ComponentKind.Exporter), _config.Exporters[id]);
        _exporterInstances[(id, signal)] = exporter;
        _exporters.Add(exporter);
        return exporter;
    }

    private ComponentContext Context(ComponentId id, ComponentKind kind) =>
        new(id, _logger.ForContext("component", id.ToString()).ForContext("kind", kind.ToString().ToLowerInvariant()), Metrics, _shared);
}
