using BenchmarkDotNet.Attributes;
using Collector.LoadGen;
using Collector.Pipeline;
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
/// shuts the chain down, which flushes every buffered trace through the merge.
/// </summary>
[MemoryDiagnoser]
public class AiProcessingBenchmarks
{
    private const int Requests = 200;
    private PayloadTemplate _template = null!;
    private byte[][] _payloads = null!;
    private List<Batch<ResourceSpans>> _batches = [];

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
            _batches.Add(Batch<ResourceSpans>.Create(ExportTraceServiceRequest.Parser.ParseFrom(p).ResourceSpans));
        }
    }

    [Benchmark(OperationsPerInvoke = Requests * 100)]
    public async Task<int> DedupMergeConflictResolution()
    {
        var sink = new CountingConsumer();
        var context = new ComponentContext(new ComponentId("bench", ""), Serilog.Core.Logger.None, new SelfMetrics(), new SharedComponents()) { PipelineId = "traces" };
        var conflict = new ConflictResolutionFactory().CreateProcessor(context with { Id = new ComponentId("conflict_resolution", "") }, new ConflictResolutionConfig(), sink);
        var merge = new LangtraceMergeFactory().CreateProcessor(context with { Id = new ComponentId("langtrace_merge", "") }, new LangtraceMergeConfig { MaxTraces = 100_000 }, conflict);
        var dedup = new DedupFactory().CreateProcessor(context with { Id = new ComponentId("dedup", "") }, new DedupConfig(), merge);
        IProcessor<ResourceSpans>[] chain = [conflict, merge, dedup];
        foreach (var p in chain)
        {
            await p.StartAsync(CancellationToken.None);
        }

        foreach (var batch in _batches)
        {
            await dedup.ConsumeAsync(batch, CancellationToken.None);
        }

        for (var i = chain.Length - 1; i >= 0; i--)
        {
            await chain[i].ShutdownAsync(CancellationToken.None);
        }

        return sink.Spans;
    }

    private sealed class CountingConsumer : IConsumer<ResourceSpans>
    {
        public int Spans;

        public bool MutatesData => false;

        public ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
        {
            Spans += SignalOps<ResourceSpans>.Instance.CountItems(batch.Resources);
            batch.CompleteAcks();
            return ValueTask.CompletedTask;
        }
    }
}
