using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Processors.Dedup;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.Encoded.Wire;

namespace Collector.Tests.AiProcessing.Encoded;

/// <summary>Dedup on batches still in their received bytes: same decisions as on decoded batches, no decode when nothing is cut.</summary>
public sealed class EncodedDedupTests
{
    private static readonly string[] Counters = ["collector_processor_dedup_dropped_spans_total", "collector_processor_dedup_unchecked_total", "collector_processor_dedup_evicted_total"];

    [Test]
    public async Task A_batch_without_duplicates_is_passed_on_still_encoded_with_its_bytes_and_bad_ids_counted_unchecked()
    {
        var dedup = new Dedup();
        var badId = TestData.Span("no span id");
        badId.SpanId = ByteString.Empty;
        var first = Request(Resource("svc", new ScopeSpans { Spans = { TestData.Span("a"), badId, TestData.Span("b") } }));
        var second = Request(Resource("svc", new ScopeSpans { Spans = { TestData.Span("c"), badId.Clone() } }));
        var batch = EncodedBatch(first, second);

        await dedup.Processor.ConsumeAsync(batch, CancellationToken.None);

        var passed = dedup.Next.Batches.Single();
        Assert.That(passed.TryGetEncoded(out var segments), Is.True, "not decoded");
        Assert.That(Batch<ResourceSpans>.Concat(segments), Is.EqualTo(Concat(first, second)));
        Assert.That(passed.ItemCount, Is.EqualTo(5));
        Assert.That(dedup.Metric("collector_processor_dedup_unchecked_total"), Is.EqualTo(2));
        Assert.That(dedup.Metric("collector_processor_dedup_dropped_spans_total"), Is.Zero);
    }

    [Test]
    public async Task Duplicates_within_a_batch_and_against_an_earlier_batch_are_cut_exactly_as_on_the_decoded_path()
    {
        var a = TestData.Span("a");
        var c = TestData.Span("c");
        var d = TestData.Span("d");
        var e = TestData.Span("e");
        var f = TestData.Span("f");
        var bad = TestData.Span("bad");
        bad.TraceId = ByteString.CopyFrom(new byte[16]);
        var earlier = Request(
            Resource("svc-0", new ScopeSpans { Spans = { a, TestData.Span("b") } }, new ScopeSpans { Spans = { c } }),
            Resource("svc-1", new ScopeSpans { Spans = { d } }));

        // Two segments; "-again" names a copy (same ids) of a span seen before, in this batch or the earlier one.
        var segment1 = Request(
            Resource("svc-0", new ScopeSpans { Spans = { Renamed(a, "a-again"), e, Renamed(a, "a-again-2") } }),
            Resource("svc-1", new ScopeSpans { Spans = { Renamed(c, "c-again") } }, new ScopeSpans { Spans = { Renamed(d, "d-again") } }),
            Resource("svc-2", new ScopeSpans { Spans = { Renamed(e, "e-again"), f, bad, Renamed(bad, "bad-again") } }));
        var segment2 = Request(
            Resource("svc-3", new ScopeSpans { Spans = { Renamed(f, "f-again") } }, new ScopeSpans { Spans = { TestData.Span("g") } }),
            Resource("svc-4", new ScopeSpans { Scope = new InstrumentationScope { Name = "empty as received" } }));

        var encoded = new Dedup();
        await encoded.Processor.ConsumeAsync(EncodedBatch(earlier), CancellationToken.None);
        await encoded.Processor.ConsumeAsync(EncodedBatch(segment1, segment2), CancellationToken.None);
        var decoded = new Dedup();
        await decoded.Processor.ConsumeAsync(DecodedBatch(earlier), CancellationToken.None);
        await decoded.Processor.ConsumeAsync(DecodedBatch(segment1, segment2), CancellationToken.None);

        var cut = encoded.Next.Batches[1];
        Assert.That(cut.TryGetEncoded(out _), Is.False, "cutting needs the decoded form");
        Assert.That(SpansOf(cut.Resources).Select(s => s.Name), Is.EqualTo(new[] { "e", "f", "bad", "bad-again", "g" }));
        Assert.That(cut.Resources.Select(r => r.Resource.Attributes[0].Value.StringValue), Is.EqualTo(new[] { "svc-0", "svc-2", "svc-3", "svc-4" }), "svc-1 lost every span");
        Assert.That(cut.Resources[2].ScopeSpans, Has.Count.EqualTo(1), "the scope left empty is removed");
        Assert.That(cut.Resources[3].ScopeSpans, Has.Count.EqualTo(1), "a scope received empty is not this processor's business");
        Assert.That(cut.ItemCount, Is.EqualTo(5));
        Assert.That(encoded.Metric("collector_processor_dedup_dropped_spans_total"), Is.EqualTo(6));
        Assert.That(encoded.Metric("collector_processor_dedup_unchecked_total"), Is.EqualTo(2));
        AssertSameOutput(encoded, decoded);
    }

    [Test]
    public async Task A_cut_batch_carries_the_byte_share_of_the_items_left()
    {
        var dedup = new Dedup();
        var spans = new ScopeSpans();
        for (var i = 0; i < 10; i++)
        {
            spans.Spans.Add(TestData.Span($"span-{i}"));
        }

        var earlier = new ScopeSpans();
        for (var i = 0; i < 4; i++)
        {
            earlier.Spans.Add(spans.Spans[i].Clone());
        }

        await dedup.Processor.ConsumeAsync(EncodedBatch(Request(Resource("svc", earlier))), CancellationToken.None);
        var request = Request(Resource("svc", spans));
        await dedup.Processor.ConsumeAsync(EncodedBatch(request), CancellationToken.None);

        // 4 of 10 equally sized spans were duplicates: the exporter queue's sizer: bytes sees 6/10 of the bytes.
        var cut = dedup.Next.Batches[1];
        Assert.That(cut.ItemCount, Is.EqualTo(6));
        Assert.That(cut.ByteSize, Is.EqualTo(request.Length - (request.Length * 4L / 10)));
        var actual = SignalOps<ResourceSpans>.CalculateRequestSize(cut.Resources);
        Assert.That(cut.ByteSize, Is.InRange(actual * 0.9, actual * 1.1));
    }

    [Test]
    public async Task An_encoded_retry_made_only_of_duplicates_is_dropped_whole_and_its_ack_completes()
    {
        var dedup = new Dedup();
        var request = Request(Resource("svc", new ScopeSpans { Spans = { TestData.Span("a"), TestData.Span("b") } }));
        await dedup.Processor.ConsumeAsync(EncodedBatch(request), CancellationToken.None);
        var retry = EncodedBatch(request);
        var ack = new DeliveryAck();
        retry.Acks = [ack];

        await dedup.Processor.ConsumeAsync(retry, CancellationToken.None);

        Assert.That(dedup.Next.Batches, Has.Count.EqualTo(1));
        Assert.That(ack.Task.IsCompletedSuccessfully && ack.Task.Result is null, Is.True);
        Assert.That(dedup.Metric("collector_processor_dedup_dropped_spans_total"), Is.EqualTo(2));
    }

    [Test]
    public async Task Random_streams_of_requests_give_the_same_output_and_counters_encoded_and_decoded()
    {
        var random = new Random(573);
        var seen = new List<Span>();
        var encoded = new Dedup(maxEntries: 64);
        var decoded = new Dedup(maxEntries: 64);
        var stayedEncoded = 0;
        for (var i = 0; i < 60; i++)
        {
            var segments = new List<byte[]>();
            for (var s = random.Next(1, 3); s > 0; s--)
            {
                var resources = new List<ResourceSpans>();
                for (var r = random.Next(1, 3); r > 0; r--)
                {
                    var scopes = new List<ScopeSpans>();
                    for (var sc = random.Next(1, 3); sc > 0; sc--)
                    {
                        var scope = new ScopeSpans();
                        for (var n = random.Next(5); n > 0; n--)
                        {
                            scope.Spans.Add(NextSpan(random, seen));
                        }

                        scopes.Add(scope);
                    }

                    resources.Add(Resource("svc-" + r, [.. scopes]));
                }

                segments.Add(Request([.. resources]));
            }

            await encoded.Processor.ConsumeAsync(EncodedBatch([.. segments]), CancellationToken.None);
            await decoded.Processor.ConsumeAsync(DecodedBatch([.. segments]), CancellationToken.None);
        }

        foreach (var batch in encoded.Next.Batches)
        {
            stayedEncoded += batch.TryGetEncoded(out _) ? 1 : 0;
        }

        AssertSameOutput(encoded, decoded);
        Assert.That(stayedEncoded, Is.InRange(1, encoded.Next.Batches.Count - 1), "both outcomes occur");
        Assert.That(encoded.Metric("collector_processor_dedup_dropped_spans_total"), Is.GreaterThan(20));
        Assert.That(encoded.Metric("collector_processor_dedup_unchecked_total"), Is.GreaterThan(5));
        Assert.That(encoded.Metric("collector_processor_dedup_evicted_total"), Is.GreaterThan(0));
    }

    /// <summary>Mostly new spans (a tenth with unusable ids); a quarter repeat a recent one under a new name.</summary>
    private static Span NextSpan(Random random, List<Span> seen)
    {
        if (seen.Count > 0 && random.Next(4) == 0)
        {
            // From the last 100: some still in the 64-entry table, some evicted.
            return Renamed(seen[random.Next(Math.Max(0, seen.Count - 100), seen.Count)], "again-" + random.Next());
        }

        var span = TestData.Span("s" + seen.Count);
        if (random.Next(10) == 0)
        {
            span.SpanId = ByteString.CopyFrom(new byte[random.Next(2) * 8]);
        }

        seen.Add(span);
        return span.Clone();
    }

    private static void AssertSameOutput(Dedup encoded, Dedup decoded)
    {
        Assert.That(encoded.Next.Batches.Select(b => b.ItemCount), Is.EqualTo(decoded.Next.Batches.Select(b => b.ItemCount)));
        Assert.That(AsRequests(encoded.Next.Batches), Is.EqualTo(AsRequests(decoded.Next.Batches)));
        foreach (var counter in Counters)
        {
            Assert.That(encoded.Metric(counter), Is.EqualTo(decoded.Metric(counter)), counter);
        }
    }

    private static Span Renamed(Span span, string name)
    {
        var copy = span.Clone();
        copy.Name = name;
        return copy;
    }

    private static ResourceSpans Resource(string service, params ScopeSpans[] scopes) =>
        new() { Resource = new Resource { Attributes = { TestData.Attr("service.name", service) } }, ScopeSpans = { scopes } };

    /// <summary>A span dedup processor of its own (table, metrics) ending in a recording consumer.</summary>
    private sealed class Dedup
    {
        private readonly SelfMetrics _metrics = new();

        public Dedup(int maxEntries = 1000)
        {
            var config = new DedupConfig { Window = TimeSpan.FromMinutes(10), MaxEntries = maxEntries };
            Processor = DedupFactory.Create(TestData.Context("dedup", _metrics), config, Next, TimeProvider.System);
        }

        public RecordingConsumer<ResourceSpans> Next { get; } = new();

        public IProcessor<ResourceSpans> Processor { get; }

        public double Metric(string name) => _metrics.Read(name, ("processor", "dedup"));
    }
}
