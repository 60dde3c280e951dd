using System.Diagnostics;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>Malformed input: handled without a crash or a hang, counted, nothing lost.</summary>
public sealed class BadInputTests
{
    [Test]
    public async Task Spans_with_missing_or_malformed_ids_pass_straight_on_and_are_counted()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var trace = NewTrace();
        var noTrace = Plain(trace, null, "no trace id");
        noTrace.TraceId = ByteString.Empty;
        var shortTrace = Plain(trace, null, "8-byte trace id");
        shortTrace.TraceId = ByteString.CopyFrom(new byte[8]);
        var zeroTrace = Plain(trace, null, "zero trace id");
        zeroTrace.TraceId = ByteString.CopyFrom(new byte[16]);
        var noSpan = Plain(trace, null, "no span id");
        noSpan.SpanId = ByteString.Empty;
        var zeroSpan = Plain(trace, null, "zero span id");
        zeroSpan.SpanId = ByteString.CopyFrom(new byte[8]);
        await merge.SendAsync(noTrace, shortTrace, Plain(trace, null, "valid"), zeroTrace, noSpan, zeroSpan);

        Assert.That(merge.OutputSpans().Select(s => s.Name), Is.EqualTo(new[] { "no trace id", "8-byte trace id", "zero trace id", "no span id", "zero span id" }));
        Assert.That(merge.SpansOut.Batches.Single().ItemCount, Is.EqualTo(5));
        Assert.That(merge.Counter("bad_input_total", ("reason", "invalid_id")), Is.EqualTo(5));
        Assert.That(merge.Counter("buffered_spans"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_span_that_is_its_own_parent_is_counted_and_never_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var self = OtelChat(trace, null);
        self.ParentSpanId = self.SpanId;
        var child = Langtrace(trace, self, 5, 995);
        await merge.SendAsync(self, child);
        await merge.SendAsync(Event(self, "tool_use", 10, "x"));
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(2));
        Assert.That(merge.OutputSpan(self).ParentSpanId, Is.EqualTo(self.SpanId), "left as it came");
        Assert.That(merge.OutputSpan(self).Events, Has.Count.EqualTo(1), "events still attach");
        Assert.That(merge.Counter("bad_input_total", ("reason", "self_parent")), Is.EqualTo(1));
    }

    [Test]
    public async Task A_parent_cycle_is_counted_and_its_spans_are_not_merged()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var a = OtelChat(trace, null);
        var b = Langtrace(trace, a, 5, 995);
        var c = OpenInference(trace, b, 10, 990);
        a.ParentSpanId = c.SpanId;
        var outside = Plain(trace, b, "child of the cycle", 20, 980);
        await merge.SendAsync(a, b, c, outside);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(4));
        Assert.That(merge.Counter("bad_input_total", ("reason", "parent_cycle")), Is.EqualTo(1));
        Assert.That(merge.Counter("dual_link_merged_total"), Is.Zero);
    }

    [Test]
    public async Task A_trace_of_100k_spans_is_flushed_in_bounded_pieces_and_nothing_is_lost()
    {
        await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
        var trace = NewTrace();
        var root = Plain(trace, null, "root");
        var clock = Stopwatch.StartNew();
        await merge.SendAsync(root);
        for (var batch = 0; batch < 10; batch++)
        {
            var spans = new Span[10_000];
            for (var i = 0; i < spans.Length; i++)
            {
                spans[i] = Plain(trace, root, "work", i, i + 1);
            }

            await merge.SendAsync(spans);
        }

        Assert.That(merge.Counter("early_flushes_total", ("reason", "max_spans_per_trace")), Is.EqualTo(100));
        Assert.That(merge.Counter("buffered_spans"), Is.EqualTo(1), "the last piece waits as usual");
        await merge.FlushAllAsync();
        Assert.That(merge.SpansOut.Batches.Sum(b => b.ItemCount), Is.EqualTo(100_001));
        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(100_001));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
    }

    [Test]
    public async Task Attribute_values_of_the_wrong_type_are_counted_and_do_not_break_the_rules()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var llm = Langtrace(trace, null);
        var otel = OtelChat(trace, llm, 5, 995);
        Set(otel, "gen_ai.usage.input_tokens", new AnyValue { StringValue = "twelve" });
        Set(otel, "gen_ai.usage.output_tokens", new AnyValue { BoolValue = true });
        Set(otel, "gen_ai.request.model", new AnyValue { IntValue = 4 });
        Set(otel, "gen_ai.response.model", new AnyValue { ArrayValue = new ArrayValue() });
        var numericName = Event(llm, string.Empty, 10, "body");
        numericName.Attributes.Add(new KeyValue { Key = "event.name", Value = new AnyValue { IntValue = 7 } });
        var numericType = Event(llm, "custom", 20, null, new KeyValue { Key = "langtrace.service.type", Value = new AnyValue { DoubleValue = 1.5 } });
        var bytesBody = Event(llm, "blob", 30, null);
        bytesBody.Body = new AnyValue { BytesValue = ByteString.CopyFrom(1, 2, 3) };
        await merge.SendAsync(llm, otel);
        await merge.SendAsync(numericName, numericType, bytesBody);
        await merge.FlushAllAsync();

        Assert.That(merge.OutputLogs().Single().Body.StringValue, Is.EqualTo("body"), "a numeric event.name names nothing: a plain log");
        var kept = merge.OutputSpans().Single();
        Assert.That(kept.Events.Select(e => e.Name), Is.EqualTo(new[] { "custom", "blob" }), "a numeric service type is not llm: span events");
        Assert.That(Value(kept.Events[1].Attributes, "event.body")!.BytesValue.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(merge.Counter("bad_input_total", ("reason", "wrong_type")), Is.EqualTo(2));
        Assert.That(merge.Counter("dual_link_merged_total"), Is.EqualTo(1), "unreadable tokens and model count as missing");
    }

    [Test]
    public async Task A_span_ending_before_it_starts_is_counted_and_treated_as_an_instant()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var otel = OtelChat(trace, null, 0, 1000);
        var backwards = Langtrace(trace, otel, 500, 100);
        await merge.SendAsync(otel, backwards);
        await merge.FlushAllAsync();

        Assert.That(merge.Counter("bad_input_total", ("reason", "time_range")), Is.EqualTo(1));
        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(1), "an instant inside the other span overlaps it fully");
    }

    [Test]
    public async Task Duplicate_span_ids_from_a_client_retry_are_left_for_dedup()
    {
        await using var merge = await MergeHarness.StartAsync();
        var trace = NewTrace();
        var llm = OtelChat(trace, null);
        await merge.SendAsync(llm.Clone());
        await merge.SendAsync(llm.Clone());
        await merge.SendAsync(Event(llm, "tool_use", 1, "x"));
        await merge.FlushAllAsync();

        Assert.That(merge.OutputSpans(), Has.Count.EqualTo(2));
        Assert.That(merge.OutputSpans().Sum(s => s.Events.Count), Is.EqualTo(1), "the event attaches once");
        Assert.That(merge.Counter("dual_link_merged_total"), Is.Zero);
    }

    private static void Set(Span span, string key, AnyValue value) => span.Attributes.Single(a => a.Key == key).Value = value;
}
