using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Tests.Receiver;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Components;

/// <summary>
/// The component contract (docs/architecture.md, "Component contract"), run over every factory
/// the collector registers: a new component is checked the day it is added to the registry.
/// </summary>
public sealed class ComponentContractTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    public static IEnumerable<TestCaseData> Factories()
    {
        foreach (var factory in CollectorComponents.CreateRegistry().All)
        {
            yield return new TestCaseData(factory).SetArgDisplayNames($"{factory.Kind}/{factory.Type}");
        }
    }

    /// <summary>Every processor and exporter with each signal it declares.</summary>
    public static IEnumerable<TestCaseData> SignalCases()
    {
        foreach (var factory in CollectorComponents.CreateRegistry().All)
        {
            if (factory.Kind is not (ComponentKind.Processor or ComponentKind.Exporter))
            {
                continue;
            }

            foreach (var signal in Enum.GetValues<Signal>())
            {
                if (factory.Metadata.Creates(signal))
                {
                    yield return new TestCaseData(factory, signal).SetArgDisplayNames($"{factory.Kind}/{factory.Type}", signal.ToConfigName());
                }
            }
        }
    }

    public static IEnumerable<TestCaseData> Receivers()
    {
        foreach (var factory in CollectorComponents.CreateRegistry().All)
        {
            if (factory.Kind == ComponentKind.Receiver)
            {
                yield return new TestCaseData(factory).SetArgDisplayNames(factory.Type);
            }
        }
    }

    [TestCaseSource(nameof(Factories))]
    public void The_default_config_with_the_sample_keys_validates(IComponentFactory factory)
    {
        ComponentSamples.Load(factory, "http://127.0.0.1:4318", out var errors);

        Assert.That(errors, Is.Empty);
    }

    [TestCaseSource(nameof(Factories))]
    public void A_factory_declares_what_validate_and_the_graph_builder_ask(IComponentFactory factory)
    {
        var signals = Enum.GetValues<Signal>().Count(factory.Metadata.Creates);

        Assert.That(signals, factory.Kind == ComponentKind.Extension ? Is.Zero : Is.GreaterThan(0));
        foreach (var metric in factory.Metadata.Metrics)
        {
            Assert.That(metric.Name, Does.StartWith("collector_"), "self-metrics share the collector_ prefix");
            Assert.That(metric.Description, Is.Not.Empty, metric.Name);
            Assert.That(metric.Unit, Is.Not.Empty, metric.Name);
        }
    }

    [TestCaseSource(nameof(Factories))]
    public async Task Shutdown_is_safe_before_start_and_when_called_twice(IComponentFactory factory)
    {
        await using var backend = await ComponentSamples.StartBackendAsync(factory);
        var config = ComponentSamples.Load(factory, ComponentSamples.Address(backend), out _);

        foreach (var started in new[] { false, true })
        {
            foreach (var component in Create(factory, config, new SelfMetrics()))
            {
                if (started)
                {
                    await component.StartAsync(CancellationToken.None);
                }

                using var timeout = new CancellationTokenSource(Deadline);
                await component.ShutdownAsync(timeout.Token);
                await component.ShutdownAsync(timeout.Token);
            }
        }
    }

    [TestCaseSource(nameof(SignalCases))]
    public Task A_start_consume_stop_cycle_delivers_leaves_unmutated_batches_alone_and_registers_only_documented_metrics(IComponentFactory factory, Signal signal) => signal switch
    {
        Signal.Traces => CycleAsync<ResourceSpans>(factory),
        Signal.Metrics => CycleAsync<ResourceMetrics>(factory),
        _ => CycleAsync<ResourceLogs>(factory),
    };

    [TestCaseSource(nameof(Receivers))]
    public async Task A_receiver_delivers_a_request_and_registers_only_documented_metrics(IComponentFactory factory)
    {
        var config = ComponentSamples.Load(factory, string.Empty, out _);
        var metrics = new SelfMetrics();
        var traces = new RecordingEntry<ResourceSpans>();
        var targets = new ReceiverTargets
        {
            Traces = [traces],
            Metrics = factory.Metadata.Creates(Signal.Metrics) ? [new RecordingEntry<ResourceMetrics>()] : [],
            Logs = factory.Metadata.Creates(Signal.Logs) ? [new RecordingEntry<ResourceLogs>()] : [],
        };
        var receiver = ((IReceiverFactory)factory).CreateReceiver(TestData.Context(factory.Type, metrics), config, targets);
        await receiver.StartAsync(CancellationToken.None);
        try
        {
            using var client = new HttpClient { Timeout = Deadline };
            Assert.That(await ComponentSamples.SendSpansAsync(receiver, client), Is.EqualTo(200));
            await Poll.UntilAsync(() => traces.Batches.Count > 0, Deadline, "the request's spans to reach the pipeline");
        }
        finally
        {
            await receiver.ShutdownAsync(CancellationToken.None);
        }

        AssertDocumented(factory, metrics);
    }

    private static async Task CycleAsync<T>(IComponentFactory factory)
        where T : class, IMessage<T>
    {
        await using var backend = await ComponentSamples.StartBackendAsync(factory);
        var config = ComponentSamples.Load(factory, ComponentSamples.Address(backend), out _);
        var metrics = new SelfMetrics();
        var context = TestData.Context(factory.Type, metrics);
        var next = new RecordingConsumer<T>();
        IConsumer<T> consumer;
        IComponent component;
        if (factory is IProcessorFactory processors)
        {
            var processor = processors.CreateProcessor(context, config, next);
            consumer = processor;
            component = processor;
        }
        else
        {
            var exporter = ((IExporterFactory)factory).CreateExporter<T>(context, config);
            consumer = exporter;
            component = exporter;
        }

        // Two batches: a component that merges (batch) changes the first one only when a second arrives.
        Batch<T>[] batches = [ComponentSamples.SampleBatch<T>(), ComponentSamples.SampleBatch<T>()];
        var items = batches[0].ItemCount + batches[1].ItemCount;
        var before = Array.ConvertAll(batches, ComponentSamples.Serialize);
        await component.StartAsync(CancellationToken.None);
        try
        {
            foreach (var batch in batches)
            {
                await consumer.ConsumeAsync(batch, CancellationToken.None);
            }
        }
        finally
        {
            using var timeout = new CancellationTokenSource(Deadline);
            await component.ShutdownAsync(timeout.Token);
        }

        if (factory.Kind == ComponentKind.Processor)
        {
            Assert.That(next.ItemCount, Is.GreaterThan(0).And.LessThanOrEqualTo(items), "the processor passed the batch on by shutdown");
        }
        else if (backend is not null)
        {
            Assert.That(ComponentSamples.Calls(backend), Is.GreaterThan(0), "the exporter reached its backend by shutdown");
        }
        else
        {
            var sent = metrics.Sum($"collector_exporter_sent_{SignalOps<T>.Instance.Signal.ItemName()}_total");
            Assert.That(sent, Is.EqualTo(items), "the exporter counted the items as sent");
        }

        if (!consumer.MutatesData)
        {
            Assert.That(Array.ConvertAll(batches, ComponentSamples.Serialize), Is.EqualTo(before), $"{factory.Type} says MutatesData == false but changed a batch it was given");
        }

        AssertDocumented(factory, metrics);
    }

    private static List<IComponent> Create(IComponentFactory factory, Pipeline.Configuration.ComponentConfig config, SelfMetrics metrics)
    {
        var context = TestData.Context(factory.Type, metrics);
        var created = new List<IComponent>();
        switch (factory)
        {
            case IReceiverFactory receivers:
                created.Add(receivers.CreateReceiver(context, config, new ReceiverTargets()));
                break;
            case IExtensionFactory extensions:
                created.Add(extensions.CreateExtension(context, config, new RunningStatus()));
                break;
            default:
                foreach (var signal in Enum.GetValues<Signal>())
                {
                    if (factory.Metadata.Creates(signal))
                    {
                        created.Add(signal switch
                        {
                            Signal.Traces => CreateConsumer<ResourceSpans>(factory, context, config),
                            Signal.Metrics => CreateConsumer<ResourceMetrics>(factory, context, config),
                            _ => CreateConsumer<ResourceLogs>(factory, context, config),
                        });
                    }
                }

                break;
        }

        return created;
    }

    private static IComponent CreateConsumer<T>(IComponentFactory factory, ComponentContext context, Pipeline.Configuration.ComponentConfig config)
        where T : class, IMessage<T> => factory is IProcessorFactory processors
        ? processors.CreateProcessor(context, config, new RecordingConsumer<T>())
        : ((IExporterFactory)factory).CreateExporter<T>(context, config);

    /// <summary>Every family the component registered is in its metadata, with the same type, help text and labels.</summary>
    private static void AssertDocumented(IComponentFactory factory, SelfMetrics metrics)
    {
        foreach (var registered in metrics.Registered())
        {
            var found = false;
            foreach (var declared in factory.Metadata.Metrics)
            {
                foreach (var signal in Enum.GetValues<Signal>())
                {
                    var (name, description) = declared.For(signal);
                    if (name != registered.Name || (factory.Kind != ComponentKind.Receiver && !factory.Metadata.Creates(signal)))
                    {
                        continue;
                    }

                    found = true;
                    Assert.That(registered.Type, Is.EqualTo(declared.Type), $"{registered.Name}: type");
                    Assert.That(registered.Help, Is.EqualTo(description), $"{registered.Name}: description");
                    Assert.That(registered.Labels, Is.EqualTo(declared.Labels), $"{registered.Name}: labels");
                    break;
                }
            }

            Assert.That(found, Is.True, $"{factory.Kind}/{factory.Type} registers {registered.Name}, which its metadata does not declare");
        }
    }

    private sealed class RunningStatus : ICollectorStatus
    {
        public CollectorState State => CollectorState.Running;
    }
}
