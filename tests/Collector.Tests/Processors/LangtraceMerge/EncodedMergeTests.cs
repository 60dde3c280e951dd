using Collector.Pipeline;
using Collector.Tests.AiProcessing.LangtraceMerge;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.Encoded.Wire;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.Encoded;

/// <summary>langtrace_merge holding encoded span batches as byte slices: the same result as decoded intake.</summary>
public sealed class EncodedMergeTests
{
    private const string ChatSchema = "https://opentelemetry.io/schemas/1.26.0";

    private static readonly string[] ComparedCounters =
        ["dual_link_merged_total", "events_total", "bad_input_total", "early_flushes_total", "processing_failures_total"];

    [Test]
    public async Task Encoded_and_decoded_intake_of_the_same_traces_flush_to_the_same_output()
    {
        var scenario = new Scenario();
        await using var encoded = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        await using var decoded = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));

        await scenario.FeedAsync(encoded, EncodedBatch);
        Assert.That(encoded.SpansOut.Batches, Is.Empty, "every span is held");
        Assert.That(encoded.Counter("buffered_spans"), Is.EqualTo(6), "held encoded spans count in the gauge");
        Assert.That(encoded.Counter("buffered_traces"), Is.EqualTo(2));
        Assert.That(encoded.Counter("buffered_events"), Is.EqualTo(3));
        await scenario.FeedAsync(decoded, DecodedBatch);
        await encoded.FlushAllAsync();
        await decoded.FlushAllAsync();

        Assert.That(encoded.Counter("buffered_spans"), Is.Zero);
        var output = encoded.OutputSpans();
        Assert.That(output.Select(s => s.Name), Is.EquivalentTo(new[] { "POST /chat", "openai.chat.completions.create", "execute_tool get_weather", "batch job", "step" }));
        Assert.That(encoded.SpansOut.Batches.Sum(b => b.ItemCount), Is.EqualTo(5));
        Assert.That(encoded.Counter("dual_link_merged_total"), Is.EqualTo(1));
        var llm = encoded.OutputSpan(scenario.LangtraceSpan);
        Assert.That(llm.ParentSpanId, Is.EqualTo(scenario.RootSpan.SpanId), "it took the merged otel span's place");
        Assert.That(Str(llm, "gen_ai.response.id"), Is.EqualTo("chatcmpl-1"), "attributes of the merged span joined");
        Assert.That(Str(llm, "gen_ai.prompt"), Does.Contain("hi"), "the prompt event merged");
        Assert.That(Str(llm, "gen_ai.completion"), Does.Contain("hello"));
        Assert.That(encoded.OutputSpan(scenario.ToolSpan).Events.Single().Name, Is.EqualTo("tool_use"));
        Assert.That(encoded.OutputLogs(), Is.Empty);

        var resources = encoded.SpansOut.Batches.SelectMany(b => b.Resources).ToList();
        var chat = resources.Single(r => r.ScopeSpans.Any(s => s.Spans.Any(x => x.SpanId == scenario.RootSpan.SpanId)));
        Assert.That(chat.SchemaUrl, Is.EqualTo(ChatSchema));
        Assert.That(chat.Resource.Attributes.Single().Value.StringValue, Is.EqualTo("chat-app"));
        Assert.That(chat.ScopeSpans.Single(s => s.Scope is not null).SchemaUrl, Is.EqualTo("scope-schema"));
        Assert.That(chat.ScopeSpans.Any(s => s.Scope is null), Is.True, "a scope received without its header comes out without one");
        Assert.That(resources.Single(r => r.ScopeSpans.Any(s => s.Spans.Any(x => x.SpanId == scenario.JobSpan.SpanId))).Resource, Is.Null);

        Assert.That(AsRequests(encoded.SpansOut.Batches), Is.EqualTo(AsRequests(decoded.SpansOut.Batches)));
        Assert.That(encoded.SpansOut.Batches.Select(b => b.ItemCount), Is.EqualTo(decoded.SpansOut.Batches.Select(b => b.ItemCount)));
        Assert.That(encoded.OutputLogs(), Is.EqualTo(decoded.OutputLogs()));
        foreach (var counter in ComparedCounters)
        {
            Assert.That(encoded.Counter(counter), Is.EqualTo(decoded.Counter(counter)), counter);
        }
    }

    [Test]
    public async Task A_batch_with_one_bad_id_span_takes_the_decoded_path_and_passes_that_span_on_counted()
    {
        var trace = NewTrace();
        var bad = Plain(trace, null, "bad");
        bad.SpanId = ByteString.CopyFrom(new byte[8]);
        var request = Request(new ResourceSpans
        {
            Resource = new Resource { Attributes = { TestData.Attr("service.name", "chat-app") } },
            ScopeSpans = { new ScopeSpans { Spans = { Plain(trace, null, "good-1"), bad, Plain(NewTrace(), null, "good-2") } } },
        });
        await using var encoded = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        await using var decoded = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));

        await encoded.Traces.ConsumeAsync(EncodedBatch(request), CancellationToken.None);
        await decoded.Traces.ConsumeAsync(DecodedBatch(request), CancellationToken.None);

        var passed = encoded.SpansOut.Batches.Single();
        Assert.That(passed.TryGetEncoded(out _), Is.False);
        Assert.That(passed.ItemCount, Is.EqualTo(1));
        Assert.That(SpansOf(passed.Resources).Single().Name, Is.EqualTo("bad"));
        Assert.That(encoded.Counter("bad_input_total", ("reason", "invalid_id")), Is.EqualTo(1));
        Assert.That(encoded.Counter("buffered_spans"), Is.EqualTo(2));

        await encoded.FlushAllAsync();
        await decoded.FlushAllAsync();
        Assert.That(encoded.OutputSpans().Select(s => s.Name), Is.EquivalentTo(new[] { "bad", "good-1", "good-2" }));
        Assert.That(AsRequests(encoded.SpansOut.Batches), Is.EqualTo(AsRequests(decoded.SpansOut.Batches)));
        Assert.That(encoded.Counter("bad_input_total"), Is.EqualTo(decoded.Counter("bad_input_total")));
    }

    [Test]
    public async Task An_encoded_batchs_ack_completes_only_when_its_last_trace_has_flushed()
    {
        await using var merge = await MergeHarness.StartAsync(c => { c.Wait = TimeSpan.FromMinutes(1); c.MaxSpansPerTrace = 2; });
        var full = NewTrace();
        var waiting = NewTrace();
        var batch = EncodedBatch(Request(new ResourceSpans
        {
            ScopeSpans = { new ScopeSpans { Spans = { Plain(full, null, "a1"), Plain(waiting, null, "b1"), Plain(full, null, "a2") } } },
        }));
        var ack = new DeliveryAck();
        batch.Acks = [ack];

        await merge.Traces.ConsumeAsync(batch, CancellationToken.None);

        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EquivalentTo(new[] { "a1", "a2" }), "the full trace left early");
        Assert.That(merge.Counter("early_flushes_total", ("reason", "max_spans_per_trace")), Is.EqualTo(1));
        Assert.That(merge.Counter("buffered_spans"), Is.EqualTo(1));
        Assert.That(ack.Task.IsCompleted, Is.False, "b1 is still held");

        await merge.FlushAllAsync();
        Assert.That(await ack.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.Null);
        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EquivalentTo(new[] { "a1", "a2", "b1" }));
        Assert.That(merge.SpansOut.Batches.Sum(b => b.Acks?.Count ?? 0), Is.EqualTo(2), "one holder per trace");
    }

    [Test]
    public async Task A_flushed_batch_carries_its_encoded_size_and_what_passes_on_its_share_of_the_bytes()
    {
        // The exporter queue may be sized in bytes: flushed batches are built here and must not arrive as 0 bytes.
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var trace = NewTrace();
        var llm = Plain(trace, null, "llm");
        await merge.Traces.ConsumeAsync(EncodedBatch(Request(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { llm, Plain(trace, null, "tool") } } } })), CancellationToken.None);

        // Two plain log records (no trace: passed on) and two AI events (held until the trace flushes).
        var logs = MergeHarness.LogBatch(
            new LogRecord { Body = new AnyValue { StringValue = "plain one" } },
            Event(llm, "gen_ai.content.prompt", 0.1, "hello"),
            new LogRecord { Body = new AnyValue { StringValue = "plain two" } },
            Event(llm, "gen_ai.content.completion", 0.2, "world"));
        var received = SignalOps<ResourceLogs>.CalculateRequestSize(logs.Resources);
        logs.ByteSize = received;
        await merge.Logs.ConsumeAsync(logs, CancellationToken.None);

        var passed = merge.LogsOut.Batches.Single();
        Assert.That(passed.ItemCount, Is.EqualTo(2));
        Assert.That(passed.ByteSize, Is.EqualTo(received * 2 / 4), "half the items, half the bytes");

        await merge.FlushAllAsync();
        var flushed = merge.SpansOut.Batches.Single();
        Assert.That(flushed.ByteSize, Is.GreaterThan(0).And.EqualTo(SignalOps<ResourceSpans>.CalculateRequestSize(flushed.Resources)));
        Assert.That(flushed.ByteSize, Is.EqualTo(flushed.ToRequestBytes().Length), "the size of what an exporter would send");
    }

    [Test]
    public async Task An_encoded_batchs_ack_completes_when_the_expiry_loop_flushes_its_traces()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMilliseconds(150));
        var batch = EncodedBatch(Request(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { Plain(NewTrace(), null, "x"), Plain(NewTrace(), null, "y") } } } }));
        var ack = new DeliveryAck();
        batch.Acks = [ack];

        await merge.Traces.ConsumeAsync(batch, CancellationToken.None);
        Assert.That(ack.Task.IsCompleted, Is.False);

        Assert.That(await ack.Task.WaitAsync(TimeSpan.FromSeconds(5)), Is.Null);
        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EquivalentTo(new[] { "x", "y" }));
        Assert.That(merge.Counter("buffered_spans"), Is.Zero);
    }

    [Test]
    public async Task A_held_span_that_fails_to_decode_at_flush_is_dropped_and_counted_and_its_trace_still_leaves()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var trace = NewTrace();

        // The outline does not look inside a span: an attribute (field 9) that is not a KeyValue only shows when decoded.
        var broken = Concat(Plain(trace, null, "broken").ToByteArray(), Ld(9, [0xFF]));
        var request = Ld(1, Ld(2, Ld(2, broken), Ld(2, Plain(trace, null, "fine").ToByteArray())));
        var batch = Batch<ResourceSpans>.FromEncoded(request, 2, request.Length, null);

        await merge.Traces.ConsumeAsync(batch, CancellationToken.None);
        Assert.That(merge.Counter("buffered_spans"), Is.EqualTo(2), "held without decoding");
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EqualTo(new[] { "fine" }));
        Assert.That(merge.SpansOut.Batches.Single().ItemCount, Is.EqualTo(1));
        Assert.That(merge.Counter("processing_failures_total"), Is.EqualTo(1));
    }

    /// <summary>
    /// Two traces in two span requests (the second as two segments), over resources with and without
    /// headers and schema urls, one LLM call instrumented twice, and its Langtrace events.
    /// </summary>
    private sealed class Scenario
    {
        private readonly byte[] _first;
        private readonly byte[] _secondA;
        private readonly byte[] _secondB;
        private readonly LogRecord[] _events;

        public Scenario()
        {
            var trace = NewTrace();
            var batchTrace = NewTrace();
            RootSpan = Plain(trace, null, "POST /chat", 0, 2000);
            var otel = OtelChat(trace, RootSpan, 100, 1100);
            LangtraceSpan = Langtrace(trace, otel, 110, 1090);
            ToolSpan = Tool(trace, RootSpan, "get_weather", 1200, 1300);
            JobSpan = Plain(batchTrace, null, "batch job", 0, 10);
            var chatApp = new Resource { Attributes = { TestData.Attr("service.name", "chat-app") } };
            _first = Request(
                new ResourceSpans
                {
                    Resource = chatApp,
                    SchemaUrl = ChatSchema,
                    ScopeSpans =
                    {
                        new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai_v2" }, SchemaUrl = "scope-schema", Spans = { RootSpan, otel } },
                        new ScopeSpans { Spans = { ToolSpan } },
                    },
                },
                new ResourceSpans { ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "jobs" }, Spans = { JobSpan } } } });
            _secondA = Request(new ResourceSpans { Resource = chatApp, ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "langtrace" }, Spans = { LangtraceSpan } } } });
            _secondB = Request(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { Plain(batchTrace, JobSpan, "step", 1, 5) } } } });
            _events =
            [
                AttributeEvent(LangtraceSpan, "gen_ai.content.prompt", 111, Attr("gen_ai.prompt", "[{\"role\":\"user\",\"content\":\"hi\"}]")),
                AttributeEvent(LangtraceSpan, "gen_ai.content.completion", 1089, Attr("gen_ai.completion", "[{\"role\":\"assistant\",\"content\":\"hello\"}]")),
                Event(ToolSpan, "tool_use", 1250, "{\"city\":\"Paris\"}"),
            ];
        }

        public Span RootSpan { get; }

        public Span LangtraceSpan { get; }

        public Span ToolSpan { get; }

        public Span JobSpan { get; }

        /// <summary>Events first (decoded, as logs always are), then the span requests as <paramref name="batch"/> makes them.</summary>
        public async Task FeedAsync(MergeHarness merge, Func<byte[][], Batch<ResourceSpans>> batch)
        {
            await merge.SendAsync(_events.Select(e => e.Clone()).ToArray());
            await merge.Traces.ConsumeAsync(batch([_first]), CancellationToken.None);
            await merge.Traces.ConsumeAsync(batch([_secondA, _secondB]), CancellationToken.None);
        }
    }
}
