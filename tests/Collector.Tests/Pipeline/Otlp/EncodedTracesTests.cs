using System.Text;
using Collector.Pipeline.Otlp;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.AiProcessing.Encoded.Wire;

namespace Collector.Tests.AiProcessing.Encoded;

/// <summary>The resource -> scope -> span outline read from encoded requests agrees with the protobuf parser.</summary>
public sealed class EncodedTracesTests
{
    private static readonly byte[] TraceA = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
    private static readonly byte[] TraceB = [.. Enumerable.Range(101, 16).Select(i => (byte)i)];
    private static readonly byte[] SpanA = [1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly byte[] SpanB = [9, 9, 9, 9, 9, 9, 9, 9];

    [Test]
    public void The_outline_of_a_multi_resource_request_in_two_segments_matches_the_decoded_request()
    {
        var service = new Resource { Attributes = { TestData.Attr("service.name", "chat") } };
        var first = Request(
            new ResourceSpans
            {
                Resource = service,
                SchemaUrl = "https://opentelemetry.io/schemas/1.26.0",
                ScopeSpans =
                {
                    new ScopeSpans { Scope = new InstrumentationScope { Name = "openai-v2", Version = "2.1b0" }, SchemaUrl = "scope-schema", Spans = { TestData.Span("a"), TestData.Span("b") } },
                    new ScopeSpans { Spans = { TestData.Span("no scope") } },
                    new ScopeSpans { Scope = new InstrumentationScope { Name = "empty" } },
                },
            },
            new ResourceSpans { ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope(), Spans = { TestData.Span("no resource") } } } });
        var second = Request(new ResourceSpans
        {
            Resource = new Resource(),
            ScopeSpans =
            {
                new ScopeSpans { Scope = new InstrumentationScope { Name = "langtrace" }, Spans = { TestData.Span("c") } },
                new ScopeSpans { Scope = new InstrumentationScope { Name = "langtrace" }, Spans = { TestData.Span("d"), TestData.Span("e") } },
            },
        });

        // The first request sits inside a larger buffer: slices must be taken relative to their segment.
        var buffer = Concat([0xFF, 0xFF, 0xFF], first, [0xFF]);
        var outline = new EncodedTraces();
        Assert.That(outline.TryRead([buffer.AsMemory(3, first.Length), second]), Is.True);

        var decoded = Parse(first, second);
        AssertMatches(outline, decoded);
        Assert.That(outline.Resources, Has.Count.EqualTo(3));
        Assert.That(outline.Scopes.Select(s => s.Resource), Is.EqualTo(new[] { 0, 0, 0, 1, 2, 2 }));
        Assert.That(outline.Spans.Select(s => s.Scope), Is.EqualTo(new[] { 0, 0, 1, 3, 4, 5, 5 }));
        Assert.That(outline.Spans.Select(s => Span.Parser.ParseFrom(s.Bytes.Span).Name), Is.EqualTo(new[] { "a", "b", "no scope", "no resource", "c", "d", "e" }));
        Assert.That(outline.Resources[1].Resource, Is.Null, "absent resource");
        Assert.That(outline.Resources[2].Resource, Is.Not.Null, "present but empty is not absent");
        Assert.That(outline.Resources[2].Resource!.Value.Length, Is.Zero);
        Assert.That(outline.Scopes[1].Scope, Is.Null, "absent scope");
        Assert.That(Encoding.UTF8.GetString(outline.Resources[0].SchemaUrl.Span), Is.EqualTo("https://opentelemetry.io/schemas/1.26.0"));
        Assert.That(Encoding.UTF8.GetString(outline.Scopes[0].SchemaUrl.Span), Is.EqualTo("scope-schema"));

        // Reused scratch: a second read replaces the outline.
        Assert.That(outline.TryRead([second]), Is.True);
        AssertMatches(outline, Parse(second));
    }

    [Test]
    public void Ids_given_twice_read_as_the_last_one_like_the_parser()
    {
        var span = Concat(
            new Span { TraceId = ByteString.CopyFrom(TraceA), SpanId = ByteString.CopyFrom(SpanA), Name = "twice" }.ToByteArray(),
            Ld(1, TraceB),
            Ld(2, SpanB));
        var request = Ld(1, Ld(2, Ld(2, span)));
        var outline = new EncodedTraces();

        Assert.That(outline.TryRead([request]), Is.True);

        Assert.That(outline.Spans.Single().TraceId.ToArray(), Is.EqualTo(TraceB));
        Assert.That(outline.Spans.Single().SpanId.ToArray(), Is.EqualTo(SpanB));
        AssertMatches(outline, Parse(request));
    }

    [Test]
    public void An_id_field_with_a_wrong_wire_type_is_skipped_as_the_parser_keeps_it_as_unknown()
    {
        var span = Concat(
            new Span { Name = "odd ids" }.ToByteArray(),
            Ld(1, TraceA),
            VarintField(1, 42),
            Fixed64Field(2, 7),
            Ld(2, SpanA),
            Fixed32Field(2, 3));
        var onlyVarint = Concat(VarintField(1, 42), Ld(2, SpanA));
        var request = Ld(1, Ld(2, Ld(2, span), Ld(2, onlyVarint)));
        var outline = new EncodedTraces();

        Assert.That(outline.TryRead([request]), Is.True);

        var decoded = Parse(request);
        AssertMatches(outline, decoded);
        Assert.That(outline.Spans[0].TraceId.ToArray(), Is.EqualTo(TraceA), "the varint field 1 after it does not replace it");
        Assert.That(outline.Spans[0].SpanId.ToArray(), Is.EqualTo(SpanA));
        Assert.That(outline.Spans[1].TraceId.Length, Is.Zero, "a varint field 1 is no trace id");
        Assert.That(decoded.ResourceSpans[0].ScopeSpans[0].Spans[1].TraceId.IsEmpty, Is.True);
    }

    private static IEnumerable<TestCaseData> Unreadable()
    {
        var valid = Request(new ResourceSpans { Resource = new Resource(), ScopeSpans = { new ScopeSpans { Spans = { TestData.Span("s") } } } });
        var span = TestData.Span("s").ToByteArray();
        var scope = new InstrumentationScope { Name = "x" }.ToByteArray();
        yield return new TestCaseData(valid[..^1], false).SetName("A request cut by one byte");
        yield return new TestCaseData(valid[..^(span.Length / 2)], false).SetName("A request cut inside a span");
        yield return new TestCaseData(Concat(valid, Tag(9, StartGroup), VarintField(1, 1), Tag(9, EndGroup)), true).SetName("A group at the top level");
        yield return new TestCaseData(Ld(1, Ld(2, Ld(2, Concat(span, Tag(200, StartGroup), Tag(200, EndGroup))))), true).SetName("A group inside a span");
        yield return new TestCaseData(Concat(valid, Tag(9, 6), [0]), false).SetName("Wire type 6");
        yield return new TestCaseData(Ld(1, Ld(2, Concat(Tag(9, 7), [0]), Ld(2, span))), false).SetName("Wire type 7 in a ScopeSpans");
        yield return new TestCaseData(Concat(valid, Tag(0, Varint), [1]), false).SetName("Field number 0");
        yield return new TestCaseData(Ld(1, Ld(2, Ld(1, scope), Ld(2, span), Ld(1, scope))), true).SetName("A scope given twice in one ScopeSpans");
        yield return new TestCaseData(Ld(1, Ld(2, Ld(2, Concat(Tag(1, LengthDelimited), VarintBytes(200), TraceA)))), false).SetName("A trace id longer than its span");
    }

    [TestCaseSource(nameof(Unreadable))]
    public void Bytes_the_outline_cannot_read_in_one_pass_are_refused(byte[] request, bool parserAccepts)
    {
        var outline = new EncodedTraces();
        Assert.That(outline.TryRead([request]), Is.False);

        // Malformed bytes fail the parser too; the rest are valid protobuf that only the parser handles (merge, skip groups).
        Assert.That(Parses(request), Is.EqualTo(parserAccepts));
    }

    [Test]
    public void A_resource_given_twice_is_refused_because_the_parser_merges_the_two()
    {
        var request = Ld(1,
            Ld(1, new Resource { Attributes = { TestData.Attr("a", "1") } }.ToByteArray()),
            Ld(2, Ld(2, TestData.Span("s").ToByteArray())),
            Ld(1, new Resource { Attributes = { TestData.Attr("b", "2") } }.ToByteArray()));

        Assert.That(Parse(request).ResourceSpans[0].Resource.Attributes.Select(a => a.Key), Is.EqualTo(new[] { "a", "b" }), "why the outline must not pick one");
        Assert.That(new EncodedTraces().TryRead([request]), Is.False);
    }

    [Test]
    public void Every_prefix_of_a_request_is_read_exactly_when_the_parser_reads_it()
    {
        var request = Request(
            new ResourceSpans { Resource = new Resource { Attributes = { TestData.Attr("service.name", "x") } }, SchemaUrl = "u", ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "s" }, Spans = { TestData.Span("a"), TestData.Span("b") } } } },
            new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { TestData.Span("c") } } } });
        var outline = new EncodedTraces();
        var readable = 0;
        for (var length = 0; length <= request.Length; length++)
        {
            var prefix = request[..length];
            var read = outline.TryRead([prefix]);
            Assert.That(read, Is.EqualTo(Parses(prefix)), $"prefix of {length} bytes");
            if (read)
            {
                readable++;
                AssertMatches(outline, Parse(prefix));
            }
        }

        Assert.That(readable, Is.EqualTo(3), "empty, the first ResourceSpans, both");
    }

    [Test]
    public void Random_requests_with_unknown_fields_odd_ids_and_segments_read_as_the_parser_reads_them()
    {
        var random = new Random(20261126);
        var outline = new EncodedTraces();
        var spans = 0;
        for (var i = 0; i < 400; i++)
        {
            var segments = RandomRequest(random);
            var memories = new ReadOnlyMemory<byte>[segments.Count];
            for (var s = 0; s < segments.Count; s++)
            {
                // Some segments are slices at an offset of a larger array.
                var pad = random.Next(3);
                var buffer = Concat(new byte[pad], segments[s], new byte[random.Next(2)]);
                memories[s] = buffer.AsMemory(pad, segments[s].Length);
            }

            Assert.That(outline.TryRead(memories), Is.True, $"request {i}");
            AssertMatches(outline, Parse([.. segments]), $"request {i}: ");
            spans += outline.Spans.Count;
        }

        Assert.That(spans, Is.GreaterThan(1000), "the sample is not trivially small");
    }

    /// <summary>The outline lists exactly the decoded request's containers and spans, in order, each slice parsing to its decoded counterpart.</summary>
    private static void AssertMatches(EncodedTraces outline, ExportTraceServiceRequest decoded, string context = "")
    {
        var scopes = new List<(int Resource, ScopeSpans Scope)>();
        var spans = new List<(int Scope, Span Span)>();
        Assert.That(outline.Resources, Has.Count.EqualTo(decoded.ResourceSpans.Count), context + "resources");
        for (var r = 0; r < decoded.ResourceSpans.Count; r++)
        {
            var expected = decoded.ResourceSpans[r];
            var actual = outline.Resources[r];
            Assert.That(actual.Resource is null, Is.EqualTo(expected.Resource is null), $"{context}resource {r} presence");
            if (actual.Resource is { } bytes)
            {
                Assert.That(Resource.Parser.ParseFrom(bytes.Span), Is.EqualTo(expected.Resource), $"{context}resource {r}");
            }

            Assert.That(Encoding.UTF8.GetString(actual.SchemaUrl.Span), Is.EqualTo(expected.SchemaUrl), $"{context}resource {r} schema url");
            foreach (var scope in expected.ScopeSpans)
            {
                scopes.Add((r, scope));
            }
        }

        Assert.That(outline.Scopes, Has.Count.EqualTo(scopes.Count), context + "scopes");
        for (var s = 0; s < scopes.Count; s++)
        {
            var (resource, expected) = scopes[s];
            var actual = outline.Scopes[s];
            Assert.That(actual.Resource, Is.EqualTo(resource), $"{context}scope {s} resource index");
            Assert.That(actual.Scope is null, Is.EqualTo(expected.Scope is null), $"{context}scope {s} presence");
            if (actual.Scope is { } bytes)
            {
                Assert.That(InstrumentationScope.Parser.ParseFrom(bytes.Span), Is.EqualTo(expected.Scope), $"{context}scope {s}");
            }

            Assert.That(Encoding.UTF8.GetString(actual.SchemaUrl.Span), Is.EqualTo(expected.SchemaUrl), $"{context}scope {s} schema url");
            foreach (var span in expected.Spans)
            {
                spans.Add((s, span));
            }
        }

        Assert.That(outline.Spans, Has.Count.EqualTo(spans.Count), context + "spans");
        for (var i = 0; i < spans.Count; i++)
        {
            var (scope, expected) = spans[i];
            var actual = outline.Spans[i];
            Assert.That(actual.Scope, Is.EqualTo(scope), $"{context}span {i} scope index");
            Assert.That(Span.Parser.ParseFrom(actual.Bytes.Span), Is.EqualTo(expected), $"{context}span {i}");
            Assert.That(actual.TraceId.ToArray(), Is.EqualTo(expected.TraceId.ToByteArray()), $"{context}span {i} trace id");
            Assert.That(actual.SpanId.ToArray(), Is.EqualTo(expected.SpanId.ToByteArray()), $"{context}span {i} span id");
        }
    }

    private static bool Parses(byte[] request)
    {
        try
        {
            ExportTraceServiceRequest.Parser.ParseFrom(request);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>
    /// A request as 1-3 segments: containers with fields in random order, absent or empty headers,
    /// unknown fields of every wire type, known field numbers with the wrong wire type, ids of any
    /// length given up to twice.
    /// </summary>
    private static List<byte[]> RandomRequest(Random random)
    {
        var fields = new List<byte[]>();
        for (var r = random.Next(5); r > 0; r--)
        {
            fields.Add(Ld(1, RandomContainer(random, RandomResource, random2 => RandomContainer(random2, RandomScope, RandomSpan))));
        }

        AddUnknown(random, fields, 2, 40);
        Shuffle(random, fields);

        // Cut between top-level fields: each segment is a request of its own.
        var segments = new List<byte[]>();
        var cut = random.Next(3);
        var at = 0;
        for (var s = 0; s < cut && fields.Count > 0; s++)
        {
            var next = random.Next(at, fields.Count + 1);
            segments.Add(Concat([.. fields.GetRange(at, next - at)]));
            at = next;
        }

        segments.Add(Concat([.. fields.GetRange(at, fields.Count - at)]));
        return segments;
    }

    /// <summary>ResourceSpans or ScopeSpans: optional header (field 1), children (field 2), optional schema url (field 3).</summary>
    private static byte[] RandomContainer(Random random, Func<Random, byte[]> header, Func<Random, byte[]> child)
    {
        var fields = new List<byte[]>();
        switch (random.Next(4))
        {
            case 0:
                break;
            case 1:
                fields.Add(Ld(1, []));
                break;
            default:
                fields.Add(Ld(1, header(random)));
                break;
        }

        for (var c = random.Next(4); c > 0; c--)
        {
            fields.Add(Ld(2, child(random)));
        }

        for (var u = random.Next(3); u > 0; u--)
        {
            fields.Add(Ld(3, Encoding.UTF8.GetBytes(random.Next(2) == 0 ? "https://opentelemetry.io/schemas/1.2" + random.Next(10) : "välue")));
        }

        if (random.Next(4) == 0)
        {
            // Known numbers, wrong wire type: unknown fields to the parser.
            fields.Add(random.Next(2) == 0 ? VarintField(1 + random.Next(3), (ulong)random.NextInt64()) : Fixed32Field(1 + random.Next(3), 5));
        }

        AddUnknown(random, fields, 4, 60);
        Shuffle(random, fields);
        return Concat([.. fields]);
    }

    private static byte[] RandomResource(Random random)
    {
        var resource = new Resource { DroppedAttributesCount = (uint)random.Next(3) };
        for (var a = random.Next(3); a > 0; a--)
        {
            resource.Attributes.Add(TestData.Attr("k" + random.Next(100), random.NextInt64()));
        }

        return resource.ToByteArray();
    }

    private static byte[] RandomScope(Random random) =>
        new InstrumentationScope { Name = "scope-" + random.Next(10), Version = random.Next(2) == 0 ? string.Empty : "1.0", Attributes = { TestData.Attr("x", "y") } }.ToByteArray();

    private static byte[] RandomSpan(Random random)
    {
        var span = new Span
        {
            Name = "span-" + random.Next(1000),
            Kind = (Span.Types.SpanKind)random.Next(6),
            StartTimeUnixNano = (ulong)random.NextInt64(),
            EndTimeUnixNano = (ulong)random.NextInt64(),
            ParentSpanId = random.Next(2) == 0 ? ByteString.Empty : ByteString.CopyFrom(RandomId(random, 8)),
        };
        for (var a = random.Next(4); a > 0; a--)
        {
            span.Attributes.Add(TestData.Attr("gen_ai.attr." + a, "v" + random.Next()));
        }

        if (random.Next(3) == 0)
        {
            span.Events.Add(new Span.Types.Event { Name = "e", TimeUnixNano = 5, Attributes = { TestData.Attr("k", 1) } });
        }

        var fields = new List<byte[]> { span.ToByteArray() };
        for (var t = random.Next(3); t > 0; t--)
        {
            fields.Add(Ld(1, RandomId(random, 16)));
        }

        for (var t = random.Next(3); t > 0; t--)
        {
            fields.Add(Ld(2, RandomId(random, 8)));
        }

        if (random.Next(5) == 0)
        {
            fields.Add(random.Next(2) == 0 ? VarintField(1, 3) : Fixed64Field(2, 9));
        }

        AddUnknown(random, fields, 100, 200);
        Shuffle(random, fields);
        return Concat([.. fields]);
    }

    /// <summary>Mostly well-formed ids; sometimes empty, all zero or of a wrong length.</summary>
    private static byte[] RandomId(Random random, int length)
    {
        var id = new byte[random.Next(6) switch { 0 => 0, 1 => length - 1, 2 => length + 1, _ => length }];
        if (random.Next(8) > 0)
        {
            random.NextBytes(id);
        }

        return id;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void AddUnknown(Random random, List<byte[]> fields, int minNumber, int maxNumber)
    {
        for (var u = random.Next(3); u > 0; u--)
        {
            var number = random.Next(minNumber, maxNumber);
            fields.Add(random.Next(4) switch
            {
                0 => VarintField(number, (ulong)random.NextInt64()),
                1 => Fixed64Field(number, (ulong)random.NextInt64()),
                2 => Fixed32Field(number, (uint)random.Next()),
                _ => Ld(number, RandomBytes(random, random.Next(12))),
            });
        }
    }

    /// <summary>Fields may come in any order (repeated ones reordered too): the outline and the parser must agree whatever it is.</summary>
    private static void Shuffle(Random random, List<byte[]> fields)
    {
        var shuffled = fields.OrderBy(_ => random.Next()).ToList();
        fields.Clear();
        fields.AddRange(shuffled);
    }}
