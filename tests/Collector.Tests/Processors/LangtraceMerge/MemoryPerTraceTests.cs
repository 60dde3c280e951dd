using Collector.Pipeline;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>Measures the memory a buffered trace costs (the figure in the README).</summary>
[NonParallelizable]
public sealed class MemoryPerTraceTests
{
    private const int Traces = 2000;

    [Test]
    public async Task A_buffered_realistic_llm_trace_costs_its_items_plus_under_2_KiB()
    {
        // The items alone (spans and records, without batch wrappers), as a baseline.
        var before = Measure();
        var items = new List<object>(Traces * 13);
        for (var i = 0; i < Traces; i++)
        {
            var (spans, logs) = RealisticTrace();
            items.AddRange(spans.Resources[0].ScopeSpans[0].Spans);
            items.AddRange(logs.Resources[0].ScopeLogs[0].LogRecords);
        }

        var itemsPerTrace = (Measure() - before) / Traces;
        GC.KeepAlive(items);
        items = null;

        // The same traces held by the buffer, their requests gone.
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var beforeBuffering = Measure();
        long encoded = 0;
        for (var i = 0; i < Traces; i++)
        {
            var (spans, logs) = RealisticTrace();
            encoded += Google.Protobuf.MessageExtensions.ToByteArray(spans.Resources[0]).Length + Google.Protobuf.MessageExtensions.ToByteArray(logs.Resources[0]).Length;
            await merge.Traces.ConsumeAsync(spans, CancellationToken.None);
            await merge.Logs.ConsumeAsync(logs, CancellationToken.None);
        }

        var totalPerTrace = (Measure() - beforeBuffering) / Traces;
        Assert.That(merge.Counter("buffered_traces"), Is.EqualTo(Traces));
        Assert.That(merge.Counter("buffered_spans"), Is.EqualTo(Traces * 10));
        Assert.That(merge.Counter("buffered_events"), Is.EqualTo(Traces * 3));

        var overheadPerTrace = totalPerTrace - itemsPerTrace;
        await TestContext.Out.WriteLineAsync(
            $"buffered trace: {totalPerTrace} B in memory (items {itemsPerTrace} B + buffer structures {overheadPerTrace} B); OTLP protobuf size {encoded / Traces} B");
        Assert.That(overheadPerTrace, Is.LessThan(2048));
        Assert.That(itemsPerTrace, Is.InRange(4_000, 64_000), "the sample is a realistic size");
    }

    [Test]
    public async Task A_trace_received_as_protobuf_bytes_is_held_as_those_bytes_at_a_fraction_of_the_decoded_cost()
    {
        await using var decoded = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var decodedPerTrace = await BufferedSpansPerTraceAsync(decoded, encode: false);
        await using var encoded = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var encodedPerTrace = await BufferedSpansPerTraceAsync(encoded, encode: true);

        await TestContext.Out.WriteLineAsync($"10 buffered spans of a trace: {encodedPerTrace} B held as received bytes, {decodedPerTrace} B held decoded");
        Assert.That(encoded.Counter("buffered_spans"), Is.EqualTo(Traces * 10));
        Assert.That(encodedPerTrace, Is.LessThan(decodedPerTrace / 2));
    }

    /// <summary>Memory per trace of the buffered spans (no events), fed decoded or as an encoded request whose other references are gone.</summary>
    private static async Task<long> BufferedSpansPerTraceAsync(MergeHarness merge, bool encode)
    {
        var before = Measure();
        for (var i = 0; i < Traces; i++)
        {
            var (spans, _) = RealisticTrace();
            if (encode)
            {
                var request = new OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest { ResourceSpans = { spans.Resources } };
                var bytes = Google.Protobuf.MessageExtensions.ToByteArray(request);
                spans = Batch<ResourceSpans>.FromEncoded(bytes, spans.ItemCount, bytes.Length, null);
            }

            await merge.Traces.ConsumeAsync(spans, CancellationToken.None);
        }

        return (Measure() - before) / Traces;
    }

    private static long Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>RAG request: 10 spans (one LLM call instrumented twice) and 3 Langtrace events.</summary>
    private static (Batch<ResourceSpans>, Batch<ResourceLogs>) RealisticTrace()
    {
        var trace = NewTrace();
        var root = Plain(trace, null, "POST /ask", 0, 3000,
            Attr("http.request.method", "POST"), Attr("url.path", "/ask"), Attr("http.response.status_code", 200),
            Attr("server.address", "rag.internal"), Attr("user_agent.original", "python-requests/2.32.3"), Attr("client.address", "10.1.2.3"));
        var chain = Plain(trace, root, "RetrievalQA", 10, 2990, Attr("langtrace.service.type", "framework"), Attr("langtrace.service.name", "langchain"), Attr("langtrace.sdk.name", "langtrace-python-sdk"));
        var embed = Plain(trace, chain, "embeddings text-embedding-3-small", 20, 120,
            Attr("gen_ai.operation.name", "embeddings"), Attr("gen_ai.provider.name", "openai"), Attr("gen_ai.request.model", "text-embedding-3-small"), Attr("gen_ai.usage.input_tokens", 14));
        var retrieve = Plain(trace, chain, "VectorStoreRetriever", 130, 400,
            Attr("openinference.span.kind", "RETRIEVER"), Attr("input.value", "What is our refund policy for annual plans?"),
            Attr("retrieval.documents.0.document.content", Text(300)), Attr("retrieval.documents.1.document.content", Text(300)), Attr("retrieval.documents.2.document.content", Text(300)));
        var rerank = Plain(trace, chain, "CohereRerank", 410, 600, Attr("openinference.span.kind", "RERANKER"), Attr("reranker.model_name", "rerank-english-v3.0"), Attr("reranker.top_k", 2));
        var otel = OtelChat(trace, chain, 610, 2900, input: 812, output: 164);
        var langtrace = Langtrace(trace, otel, 612, 2898, input: 812, output: 164);
        var http = Plain(trace, langtrace, "POST", 615, 2890, Attr("http.request.method", "POST"), Attr("url.full", "https://api.openai.com/v1/chat/completions"), Attr("http.response.status_code", 200));
        var tool = Tool(trace, chain, "lookup_order", 2000, 2100);
        var tool2 = Tool(trace, chain, "refund_eligibility", 2100, 2200);
        var spans = MergeHarness.SpanBatch(root, chain, embed, retrieve, rerank, otel, langtrace, http, tool, tool2);
        var logs = MergeHarness.LogBatch(
            AttributeEvent(langtrace, "gen_ai.content.prompt", 612, Attr("gen_ai.prompt", Text(800))),
            AttributeEvent(langtrace, "gen_ai.content.completion", 2898, Attr("gen_ai.completion", Text(400))),
            Event(tool, "tool_use", 2001, "{\"order_id\":\"A-1234\"}", Attr("tool.name", "lookup_order")));
        return (spans, logs);
    }

    private static string Text(int length) => new string('x', length - 20) + Guid.NewGuid().ToString("N")[..20];
}
