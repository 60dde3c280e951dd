using BenchmarkDotNet.Attributes;
using Collector.LoadGen;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Collector.Processors.ConflictResolution;
using Collector.Processors.Dedup;
using Collector.Processors.LangtraceMerge;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Bench;

/// <summary>
/// Spans/s through dedup -> langtrace_merge -> conflict_resolution on the load generator's
/// realistic LLM mix (10-span traces: HTTP, chain, embedding, retrieval, rerank, a chat call
/// instrumented twice, tool, DB, response; prompts with personal data; prompt/completion events).
/// One operation = one span; each invocation pushes <see cref="Requests"/> requests and then
/// shuts the chain down, which flushes every buffered trace through the merge. Dedup and
/// langtrace_merge also run alone on the same data, so the chain's cost splits per processor.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class AiProcessingBenchmarks
{
    private const int Requests = 200;
    private const int Spans = Requests * 100;
    private PayloadTemplate _template = null!;
    private byte[][] _payloads = null!;
    private List<Batch<ResourceSpans>> _batches = [];

    /// <summary>
    /// False: the requests arrive decoded (decoding not timed). True: they arrive as the receiver
    /// hands them on, still as bytes; dedup reads ids from the bytes and langtrace_merge holds the
    /// bytes and decodes each span at flush, which is then part of the timed work.
    /// </summary>
    [Params(false, true)]
    public bool Encoded { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _template = Workloads.Llm(100);
        _payloads = new byte[Requests][];
        for (var i = 0; i < Requests; i++)
        {
            _payloads[i] = _template.Render(i, json: false);
        }
    }

    /// <summary>Processors mutate in place, so every invocation decodes fresh batches (not timed).</summary>
    [IterationSetup]
    public void Decode()
    {
        _batches = new List<Batch<ResourceSpans>>(Requests);
        foreach (var p in _payloads)
        {
            _batches.Add(Encoded
                ? Batch<ResourceSpans>.FromEncoded(p, 100, p.Length, null)
                : Batch<ResourceSpans>.Create(ExportTraceServiceRequest.Parser.ParseFrom(p).ResourceSpans));
        }
    }

    [Benchmark(OperationsPerInvoke = Spans)]
    public Task<int> DedupMergeConflictResolution() => PushAsync((context, sink) =>
    {
        var conflict = Create(new ConflictResolutionFactory(), new ConflictResolutionConfig(), context, sink);
        var merge = Create(new LangtraceMergeFactory(), MergeConfig(), context, conflict);
        return [Create(new DedupFactory(), new DedupConfig(), context, merge), merge, conflict];
    });

    [Benchmark(OperationsPerInvoke = Spans)]
    public Task<int> Dedup() => PushAsync((context, sink) => [Create(new DedupFactory(), new DedupConfig(), context, sink)]);

    [Benchmark(OperationsPerInvoke = Spans)]
    public Task<int> LangtraceMerge() => PushAsync((context, sink) => [Create(new LangtraceMergeFactory(), MergeConfig(), context, sink)]);

    /// <summary>Room for every trace of an invocation, so that the merge sees all of them before shutdown flushes.</summary>
    private static LangtraceMergeConfig MergeConfig() => new() { MaxTraces = 100_000 };

    private static IProcessor<ResourceSpans> Create(IProcessorFactory factory, ComponentConfig config, ComponentContext context, IConsumer<ResourceSpans> next) =>
        factory.CreateProcessor(context with { Id = new ComponentId(factory.Type, "") }, config, next);

    /// <summary>
    /// Fresh processors per invocation (dedup would otherwise drop the next invocation's spans as seen).
    /// <paramref name="build"/> returns the chain entry first; it is started from its end and shut down
    /// from its entry, so that each shutdown flush still finds its downstream running.
    /// </summary>
    private async Task<int> PushAsync(Func<ComponentContext, IConsumer<ResourceSpans>, IProcessor<ResourceSpans>[]> build)
    {
        var sink = new CountingConsumer();
        var context = new ComponentContext(new ComponentId("bench", ""), Serilog.Core.Logger.None, new SelfMetrics(), new SharedComponents()) { PipelineId = "traces" };
        var chain = build(context, sink);
        for (var i = chain.Length - 1; i >= 0; i--)
        {
            await chain[i].StartAsync(CancellationToken.None);
        }

        foreach (var batch in _batches)
        {
            await chain[0].ConsumeAsync(batch, CancellationToken.None);
        }

        foreach (var p in chain)
        {
            await p.ShutdownAsync(CancellationToken.None);
        }

        return sink.Spans;
    }

    private sealed class CountingConsumer : IConsumer<ResourceSpans>
    {
        public int Spans;

        public bool MutatesData => false;

        public ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
        {
            // ItemCount, not the messages: an encoded batch that reaches the end stays undecoded.
            Spans += batch.ItemCount;
            batch.CompleteAcks();
            return ValueTask.CompletedTask;
        }
    }
}
