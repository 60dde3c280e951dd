using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Processors.LangtraceMerge;
using Collector.Tests.TestSupport;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>
/// One langtrace_merge component created through its factory for a traces and a logs pipeline
/// (as the collector does), each ending in a recording consumer.
/// </summary>
internal sealed class MergeHarness : IAsyncDisposable
{
    private const string Id = "langtrace_merge";

    private MergeHarness(LangtraceMergeConfig config)
    {
        var factory = new LangtraceMergeFactory();
        var shared = new SharedComponents();
        var id = TestData.ComponentIdOf(Id);
        Traces = factory.CreateProcessor(new ComponentContext(id, Serilog.Core.Logger.None, Metrics, shared) { PipelineId = "traces" }, config, SpansOut);
        Logs = factory.CreateProcessor(new ComponentContext(id, Serilog.Core.Logger.None, Metrics, shared) { PipelineId = "logs" }, config, LogsOut);
    }

    public SelfMetrics Metrics { get; } = new();

    public RecordingConsumer<ResourceSpans> SpansOut { get; } = new();

    public RecordingConsumer<ResourceLogs> LogsOut { get; } = new();

    public IProcessor<ResourceSpans> Traces { get; }

    public IProcessor<ResourceLogs> Logs { get; }

    /// <summary>Short waits keep the tests fast; shutdown flushes deterministically where timing is not the point.</summary>
    public static async Task<MergeHarness> StartAsync(Action<LangtraceMergeConfig>? configure = null)
    {
        var config = new LangtraceMergeConfig { Wait = TimeSpan.FromMilliseconds(150) };
        configure?.Invoke(config);
        var errors = new Pipeline.Configuration.ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty);
        var harness = new MergeHarness(config);
        await harness.Traces.StartAsync(CancellationToken.None);
        await harness.Logs.StartAsync(CancellationToken.None);
        return harness;
    }

    public ValueTask SendAsync(params Span[] spans) => Traces.ConsumeAsync(SpanBatch(spans), CancellationToken.None);

    public ValueTask SendAsync(params LogRecord[] records) => Logs.ConsumeAsync(LogBatch(records), CancellationToken.None);

    public static Batch<ResourceSpans> SpanBatch(params Span[] spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test-instrumentation" } };
        scope.Spans.Add(spans);
        var resource = new ResourceSpans { Resource = ServiceResource() };
        resource.ScopeSpans.Add(scope);
        return Batch<ResourceSpans>.Create([resource]);
    }

    public static Batch<ResourceLogs> LogBatch(params LogRecord[] records)
    {
        var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "langtrace" } };
        scope.LogRecords.Add(records);
        var resource = new ResourceLogs { Resource = ServiceResource() };
        resource.ScopeLogs.Add(scope);
        return Batch<ResourceLogs>.Create([resource]);
    }

    private static Resource ServiceResource()
    {
        var resource = new Resource();
        resource.Attributes.Add(TestData.Attr("service.name", "chat-app"));
        return resource;
    }

    /// <summary>Shuts both pipelines' instances down: every buffered trace is flushed.</summary>
    public async Task FlushAllAsync()
    {
        await Traces.ShutdownAsync(CancellationToken.None);
        await Logs.ShutdownAsync(CancellationToken.None);
    }

    public List<Span> OutputSpans() => Flatten(SpansOut.Batches, b => b.Resources, r => r.ScopeSpans, s => s.Spans);

    public List<LogRecord> OutputLogs() => Flatten(LogsOut.Batches, b => b.Resources, r => r.ScopeLogs, s => s.LogRecords);

    public Span OutputSpan(Span input) => OutputSpans().Single(s => s.SpanId == input.SpanId);

    public long Counter(string name, params (string Key, string Value)[] labels) =>
        (long)Metrics.Sum("collector_processor_langtrace_merge_" + name, [("processor", Id), .. labels]);

    public long Events(string outcome) => Counter("events_total", ("outcome", outcome));

    public async ValueTask DisposeAsync() => await FlushAllAsync();

    private static List<TItem> Flatten<TBatch, TResource, TScope, TItem>(
        IEnumerable<TBatch> batches,
        Func<TBatch, RepeatedField<TResource>> resources,
        Func<TResource, RepeatedField<TScope>> scopes,
        Func<TScope, RepeatedField<TItem>> items)
    {
        var result = new List<TItem>();
        foreach (var batch in batches)
        {
            foreach (var resource in resources(batch))
            {
                foreach (var scope in scopes(resource))
                {
                    result.AddRange(items(scope));
                }
            }
        }

        return result;
    }
}
