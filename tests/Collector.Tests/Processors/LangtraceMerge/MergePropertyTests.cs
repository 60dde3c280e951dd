using Collector.GenAi;
using Google.Protobuf;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.LangtraceMerge.Llm;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>
/// Properties over generated traces: random mixes of instrumentations per LLM call (nested,
/// sibling and mixed forms), tools under the calls, AI events with repeats, orphans and plain
/// logs, sent in random order and batches.
/// </summary>
public sealed class MergePropertyTests
{
    private delegate Span Instrumentation(byte[] trace, Span? parent, double start, double end, string model, long? input, long? output);

    private static readonly Instrumentation[] Conventions =
    [
        (t, p, s, e, m, i, o) => OtelChat(t, p, s, e, m, i, o),
        (t, p, s, e, m, i, o) => Langtrace(t, p, s, e, m, i, o),
        (t, p, s, e, m, i, o) => OpenLlmetry(t, p, s, e, m, i, o),
        (t, p, s, e, m, i, o) => OpenInference(t, p, s, e, m, i, o),
    ];

    private static readonly string[] EventNames = ["tool_use", "gen_ai.choice", "gen_ai.content.prompt", "stream.chunk", "retriever.result", "gen_ai.user.message"];

    [Test]
    public async Task Nothing_is_lost_uncounted_tokens_count_once_and_parents_resolve()
    {
        long merged = 0, duplicates = 0, semantic = 0, spanEventsTotal = 0, orphans = 0;
        for (var seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var generated = new Generated();
            var traceCount = random.Next(1, 4);
            for (var t = 0; t < traceCount; t++)
            {
                GenerateTrace(random, generated);
            }

            await using var merge = await MergeHarness.StartAsync(c => c.Wait = TimeSpan.FromMinutes(1));
            await SendShuffledAsync(random, merge, generated);
            await merge.FlushAllAsync();
            var context = $"seed {seed}";
            merged += merge.Counter("dual_link_merged_total");
            duplicates += merge.Events("duplicate");
            semantic += merge.Events("semantic");
            spanEventsTotal += merge.Events("span_event");
            orphans += merge.Events("orphan");

            var spansOut = merge.OutputSpans();
            var logsOut = merge.OutputLogs();
            Assert.That(spansOut.Count + merge.Counter("dual_link_merged_total"), Is.EqualTo(generated.Spans.Count), context);
            Assert.That(logsOut.Count + merge.Events("duplicate") + merge.Events("semantic") + merge.Events("span_event"), Is.EqualTo(generated.Logs.Count), context);
            Assert.That(logsOut.Count, Is.EqualTo(merge.Events("orphan") + generated.PlainLogs), context);
            var spanEvents = spansOut.Sum(s => s.Events.Count);
            Assert.That(spanEvents, Is.InRange(merge.Events("span_event"), merge.Events("span_event") + merge.Events("semantic")), context);
            Assert.That(merge.SpansOut.Batches.Sum(b => b.ItemCount), Is.EqualTo(spansOut.Count), context + ": span ItemCount");
            Assert.That(merge.LogsOut.Batches.Sum(b => b.ItemCount), Is.EqualTo(logsOut.Count), context + ": log ItemCount");
            Assert.That(spansOut.Select(s => s.SpanId).Distinct().Count(), Is.EqualTo(spansOut.Count), context + ": no span twice");

            foreach (var group in spansOut.GroupBy(s => s.TraceId))
            {
                var traceId = group.Key;
                var tokens = group.Where(GenAiConventions.IsLlmSpan).Sum(s => (GenAiConventions.InputTokens(s) ?? 0) + (GenAiConventions.OutputTokens(s) ?? 0));
                Assert.That(tokens, Is.EqualTo(generated.Tokens[traceId]), $"{context}: tokens of trace {traceId.ToBase64()}");
                Assert.That(group.Count(GenAiConventions.IsLlmSpan), Is.EqualTo(generated.Calls[traceId]), $"{context}: one LLM span per call");
                var ids = group.Select(s => s.SpanId).ToHashSet();
                foreach (var span in group)
                {
                    Assert.That(span.ParentSpanId.IsEmpty || ids.Contains(span.ParentSpanId), $"{context}: parent of {span.Name} resolves");
                }
            }
        }

        // The generator must exercise every rule, or the properties above prove little.
        Assert.That(new[] { merged, duplicates, semantic, spanEventsTotal, orphans }, Is.All.GreaterThan(50));
    }

    [Test]
    public async Task Under_tiny_limits_every_item_still_leaves_or_is_counted()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(1000 + seed);
            var generated = new Generated();
            for (var t = random.Next(1, 5); t > 0; t--)
            {
                GenerateTrace(random, generated);
            }

            await using var merge = await MergeHarness.StartAsync(c =>
            {
                c.Wait = TimeSpan.FromMinutes(1);
                c.MaxTraces = random.Next(1, 3);
                c.MaxSpansPerTrace = random.Next(1, 6);
                c.MaxEventsPerTrace = random.Next(1, 4);
            });
            await SendShuffledAsync(random, merge, generated);
            await merge.FlushAllAsync();

            var context = $"seed {1000 + seed}";
            Assert.That(merge.OutputSpans().Count + merge.Counter("dual_link_merged_total"), Is.EqualTo(generated.Spans.Count), context);
            Assert.That(merge.OutputLogs().Count + merge.Events("duplicate") + merge.Events("semantic") + merge.Events("span_event"), Is.EqualTo(generated.Logs.Count), context);
            Assert.That(merge.Counter("early_flushes_total"), Is.GreaterThan(0), context);
        }
    }

    private static void GenerateTrace(Random random, Generated generated)
    {
        var trace = NewTrace();
        var traceId = ByteString.CopyFrom(trace);
        var root = Plain(trace, null, "POST /ask", 0, 10_000);
        var spans = new List<Span> { root };
        var calls = random.Next(1, 5);
        long tokens = 0;
        for (var call = 0; call < calls; call++)
        {
            // Calls never overlap in time, so two calls can never pass for one.
            var start = 100 + (call * 2000);
            var model = random.Next(3) == 0 ? "gpt-4o-mini" : "gpt-4o";
            long input = random.Next(1, 5000), output = random.Next(1, 2000);
            tokens += input + output;
            var order = Enumerable.Range(0, Conventions.Length).OrderBy(_ => random.Next()).Take(random.Next(1, 4)).ToList();
            Span? previous = null;
            Span? innermost = null;
            for (var k = 0; k < order.Count; k++)
            {
                // Nested under the previous instrumentation, or its sibling under the root; times shrink slightly inward.
                var nested = previous is not null && random.Next(2) == 0;
                var parent = nested ? previous : root;
                var withTokens = k == 0 || random.Next(3) > 0;
                var span = Conventions[order[k]](trace, parent, start + k, start + 1500 - k, model, withTokens ? input : null, withTokens ? output : null);
                spans.Add(span);
                previous = span;
                innermost = span;
            }

            for (var tool = random.Next(3); tool > 0; tool--)
            {
                spans.Add(Tool(trace, innermost, $"tool{tool}", start + 100, start + 200));
            }
        }

        var logs = new List<LogRecord>();
        var eventCount = random.Next(0, 12);
        for (var e = 0; e < eventCount; e++)
        {
            var span = spans[random.Next(spans.Count)];
            var name = EventNames[random.Next(EventNames.Length)];
            var at = random.Next(0, 10_000);
            var body = random.Next(3) == 0 ? null : $"content {random.Next(4)}";
            var ev = random.Next(2) == 0 ? Event(span, name, at, body, Attr("gen_ai.system", "openai")) : AttributeEvent(span, name, at, Attr("k", random.Next(3)));
            logs.Add(ev);
            if (random.Next(4) == 0)
            {
                var repeat = ev.Clone();
                repeat.TimeUnixNano += (ulong)random.Next(0, 900) * 1_000_000;
                logs.Add(repeat);
            }
        }

        for (var o = random.Next(0, 3); o > 0; o--)
        {
            logs.Add(Event(Plain(trace, null, "not sent"), "gen_ai.choice", 5, "orphan"));
        }

        var plain = random.Next(0, 3);
        for (var p = 0; p < plain; p++)
        {
            logs.Add(new LogRecord { TraceId = traceId, Body = new OpenTelemetry.Proto.Common.V1.AnyValue { StringValue = "plain log" } });
        }

        generated.Spans.AddRange(spans);
        generated.Logs.AddRange(logs);
        generated.PlainLogs += plain;
        generated.Tokens[traceId] = tokens;
        generated.Calls[traceId] = calls;
    }

    /// <summary>Spans and logs interleaved in random order, in random-sized batches.</summary>
    private static async Task SendShuffledAsync(Random random, MergeHarness merge, Generated generated)
    {
        var items = generated.Spans.Cast<object>().Concat(generated.Logs).OrderBy(_ => random.Next()).ToList();
        var i = 0;
        while (i < items.Count)
        {
            var size = random.Next(1, 8);
            var spans = new List<Span>();
            var logs = new List<LogRecord>();
            for (; size > 0 && i < items.Count; size--, i++)
            {
                if (items[i] is Span span)
                {
                    spans.Add(span.Clone());
                }
                else
                {
                    logs.Add(((LogRecord)items[i]).Clone());
                }
            }

            if (spans.Count > 0)
            {
                await merge.SendAsync([.. spans]);
            }

            if (logs.Count > 0)
            {
                await merge.SendAsync([.. logs]);
            }
        }
    }

    private sealed class Generated
    {
        public List<Span> Spans { get; } = [];

        public List<LogRecord> Logs { get; } = [];

        public int PlainLogs { get; set; }

        public Dictionary<ByteString, long> Tokens { get; } = [];

        public Dictionary<ByteString, int> Calls { get; } = [];
    }
}
