using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Tests.Exporters;
using Collector.Tests.Receiver;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using Status = OpenTelemetry.Proto.Trace.V1.Status;

namespace Collector.Tests.Forwarding;

[NonParallelizable] // reads the process-wide materialisation counter
public sealed class ForwardingTests
{
    /// <summary>Valid ids for hand-built spans: all-zero ids are invalid per OTLP and refused by the scanner.</summary>
    private static readonly byte[] Id16 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    private static readonly byte[] Id8 = [1, 2, 3, 4, 5, 6, 7, 8];

    [Test]
    public void Scanner_counts_match_the_decoder_for_random_requests_of_every_signal()
    {
        var random = new Random(7);
        for (var round = 0; round < 50; round++)
        {
            var traces = RandomTraces(random);
            var metrics = RandomMetrics(random);
            var logs = RandomLogs(random);

            Assert.That(OtlpWireScanner.TryScan(Signal.Traces, traces.ToByteArray(), out var spans), Is.True);
            Assert.That(spans, Is.EqualTo(SignalOps<ResourceSpans>.Instance.CountItems(traces.ResourceSpans)));
            Assert.That(OtlpWireScanner.TryScan(Signal.Metrics, metrics.ToByteArray(), out var points), Is.True);
            Assert.That(points, Is.EqualTo(SignalOps<ResourceMetrics>.Instance.CountItems(metrics.ResourceMetrics)));
            Assert.That(OtlpWireScanner.TryScan(Signal.Logs, logs.ToByteArray(), out var records), Is.True);
            Assert.That(records, Is.EqualTo(SignalOps<ResourceLogs>.Instance.CountItems(logs.ResourceLogs)));
        }
    }

    [Test]
    public void Scanner_refuses_truncated_garbage_and_invalid_ids()
    {
        var bytes = OtlpSamples.Traces(5).ToByteArray();
        for (var length = 1; length < bytes.Length; length += 7)
        {
            Assert.That(OtlpWireScanner.TryScan(Signal.Traces, bytes.AsSpan(0, length), out _), Is.False, $"truncated to {length}");
        }

        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], out _), Is.False, "length beyond the end");
        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, [0x0F, 0x00], out _), Is.False, "wire type 7");
        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, [0x00, 0x00], out _), Is.False, "field number 0");

        var badSpan = OtlpSamples.Traces(2);
        badSpan.ResourceSpans[0].ScopeSpans[0].Spans[1].SpanId = ByteString.CopyFrom(1, 2, 3);
        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, badSpan.ToByteArray(), out _), Is.False, "short span id");
        var badLog = OtlpSamples.Logs(2);
        badLog.ResourceLogs[0].ScopeLogs[0].LogRecords[0].TraceId = ByteString.CopyFrom(1, 2, 3);
        Assert.That(OtlpWireScanner.TryScan(Signal.Logs, badLog.ToByteArray(), out _), Is.False, "short log trace id");
    }

    [Test]
    public void Scanner_refuses_conflicting_oneof_members_and_bad_utf8_but_accepts_repeats_of_one_member()
    {
        // A span with one attribute whose AnyValue is written by hand, so that wire-level cases the
        // generated serializer never produces can be checked against the parser's reading.
        static byte[] Request(byte[] anyValue)
        {
            var keyValue = Concat(LengthDelimited(1, "k"u8.ToArray()), LengthDelimited(2, anyValue));
            var span = Concat(LengthDelimited(1, Id16), LengthDelimited(2, Id8), LengthDelimited(9, keyValue));
            return LengthDelimited(1, LengthDelimited(2, LengthDelimited(2, span)));
        }

        byte[] stringThenInt = [0x0A, 1, (byte)'a', 0x18, 5];
        byte[] stringTwice = [0x0A, 1, (byte)'a', 0x0A, 1, (byte)'b'];
        byte[] invalidUtf8 = [0x0A, 2, 0xC3, 0x28];

        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, Request(stringTwice), out var spans), Is.True);
        Assert.That(spans, Is.EqualTo(1));
        Assert.That(ExportTraceServiceRequest.Parser.ParseFrom(Request(stringTwice)).ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes[0].Value.StringValue, Is.EqualTo("b"));
        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, Request(stringThenInt), out _), Is.False, "two members of one oneof");
        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, Request(invalidUtf8), out _), Is.False, "invalid UTF-8 in a string");
        Assert.That(() => ExportTraceServiceRequest.Parser.ParseFrom(Request(invalidUtf8)), Throws.InstanceOf<InvalidProtocolBufferException>());
    }

    [Test]
    public void Scanner_utf8_check_agrees_with_the_parser_at_every_length_and_position()
    {
        // The scanner checks short strings word by word before the full validator: a non-ASCII or
        // invalid byte must be caught wherever it sits, in whole words and in the tail.
        static byte[] Request(byte[] key)
        {
            var keyValue = Concat(LengthDelimited(1, key), LengthDelimited(2, LengthDelimited(1, "v"u8.ToArray())));
            var span = Concat(LengthDelimited(1, Id16), LengthDelimited(2, Id8), LengthDelimited(9, keyValue));
            return LengthDelimited(1, LengthDelimited(2, LengthDelimited(2, span)));
        }

        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, Request([]), out _), Is.True, "empty key");
        var checkedCount = 0;
        for (var length = 1; length <= 40; length++)
        {
            for (var at = 0; at < length; at++)
            {
                foreach (var inserted in new byte[][] { [0xFF], [0x80], [0xC3, 0xA9], [0xC3] })
                {
                    var key = new byte[length];
                    key.AsSpan().Fill((byte)'k');
                    var n = Math.Min(inserted.Length, length - at);
                    inserted.AsSpan(0, n).CopyTo(key.AsSpan(at));
                    var bytes = Request(key);
                    bool parsed;
                    try
                    {
                        ExportTraceServiceRequest.Parser.ParseFrom(bytes);
                        parsed = true;
                    }
                    catch (InvalidProtocolBufferException)
                    {
                        parsed = false;
                    }

                    Assert.That(OtlpWireScanner.TryScan(Signal.Traces, bytes, out _), Is.EqualTo(parsed), $"key {Convert.ToHexString(key)}");
                    Assert.That(parsed, Is.EqualTo(System.Text.Unicode.Utf8.IsValid(key)), $"parser vs UTF-8 for {Convert.ToHexString(key)}");
                    checkedCount++;
                }
            }
        }

        Assert.That(checkedCount, Is.EqualTo(4 * 40 * 41 / 2));
    }

    [Test]
    public void Scanner_acceptance_of_mutated_requests_implies_the_parser_reads_the_same_items_and_valid_ids()
    {
        var random = new Random(12345);
        long accepted = 0, checkedCount = 0;
        for (var round = 0; round < 1000; round++)
        {
            var signal = (Signal)random.Next(0, 3);
            byte[] seed = signal switch
            {
                Signal.Traces => RandomTraces(random).ToByteArray(),
                Signal.Metrics => RandomMetrics(random).ToByteArray(),
                _ => RandomLogs(random).ToByteArray(),
            };
            for (var m = 0; m < 60; m++)
            {
                var bytes = Mutate(random, seed);
                checkedCount++;
                if (!OtlpWireScanner.TryScan(signal, bytes, out var items))
                {
                    continue;
                }

                accepted++;
                int expected;
                bool idsOk = true;
                try
                {
                    switch (signal)
                    {
                        case Signal.Traces:
                            var t = ExportTraceServiceRequest.Parser.ParseFrom(bytes);
                            expected = SignalOps<ResourceSpans>.Instance.CountItems(t.ResourceSpans);
                            foreach (var rs in t.ResourceSpans) foreach (var ss in rs.ScopeSpans) foreach (var sp in ss.Spans)
                                idsOk &= sp.TraceId.Length == 16 && sp.SpanId.Length == 8 && sp.ParentSpanId.Length is 0 or 8;
                            Assert.That(t.ToByteArray(), Is.Not.Null);
                            break;
                        case Signal.Metrics:
                            var mt = ExportMetricsServiceRequest.Parser.ParseFrom(bytes);
                            expected = SignalOps<ResourceMetrics>.Instance.CountItems(mt.ResourceMetrics);
                            break;
                        default:
                            var l = ExportLogsServiceRequest.Parser.ParseFrom(bytes);
                            expected = SignalOps<ResourceLogs>.Instance.CountItems(l.ResourceLogs);
                            foreach (var rl in l.ResourceLogs) foreach (var sl in rl.ScopeLogs) foreach (var lr in sl.LogRecords)
                                idsOk &= lr.TraceId.Length is 0 or 16 && lr.SpanId.Length is 0 or 8;
                            break;
                    }
                }
                catch (InvalidProtocolBufferException e)
                {
                    Assert.Fail($"{signal}: scanner accepted bytes the parser rejects ({e.Message}): {Convert.ToHexString(bytes)}");
                    return;
                }

                Assert.That(items, Is.EqualTo(expected), $"{signal} count: {Convert.ToHexString(bytes)}");
                Assert.That(idsOk, Is.True, $"{signal} ids: {Convert.ToHexString(bytes)}");
            }
        }

        TestContext.Out.WriteLine($"checked {checkedCount}, scanner accepted {accepted}");
        Assert.That(accepted, Is.GreaterThan(1000));
    }

    [Test]
    public void Scanner_agrees_with_the_parser_on_non_canonical_varints_huge_lengths_and_unexpected_wire_types()
    {
        var span = Concat(LengthDelimited(1, Id16), LengthDelimited(2, Id8));
        byte[] Wrap(byte[] s) => LengthDelimited(1, LengthDelimited(2, LengthDelimited(2, s)));
        var cases = new Dictionary<string, byte[]>
        {
            // span tag 0x0A written as a 6-byte varint (non-canonical, value 10)
            ["padded tag"] = LengthDelimited(1, LengthDelimited(2, Concat([0x92, 0x80, 0x80, 0x80, 0x80, 0x00, (byte)span.Length], span))),
            // trace_id length as a 10-byte varint of 16
            ["padded length"] = Wrap(Concat([0x0A, 0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], Id16, LengthDelimited(2, Id8))),
            // length with bit 32 set (parser truncates to 32 bits)
            ["length 2^32+16"] = Wrap(Concat([0x0A, 0x90, 0x80, 0x80, 0x80, 0x10], Id16, LengthDelimited(2, Id8))),
            // tag above uint.MaxValue whose low 32 bits are a valid tag
            ["tag 2^32+10"] = LengthDelimited(1, LengthDelimited(2, Concat([0x92, 0x80, 0x80, 0x80, 0x10, (byte)span.Length], span))),
            // unknown field 100 (wire 1) inside a span
            ["unknown fixed64"] = Wrap(Concat(span, [0xA1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8])),
            // span_id as wire type 0 after a good one: unknown, keeps the 8 bytes
            ["span_id wire 0"] = Wrap(Concat(span, [0x10, 0x05])),
            // attribute value: two AnyValue messages for one KeyValue.value (merged by the parser)
            ["merged AnyValue"] = Wrap(Concat(span, LengthDelimited(9, Concat(LengthDelimited(1, "k"u8.ToArray()), LengthDelimited(2, [0x0A, 1, (byte)'a']), LengthDelimited(2, [0x18, 5]))))),
            // packed repeated with an empty payload (bucket counts etc. don't exist on spans; dropped_attributes_count with wire 2)
            ["singular uint32 as wire 2"] = Wrap(Concat(span, [0x50, 0x01, 0x52, 0x00])),
        };
        foreach (var (name, bytes) in cases)
        {
            var scanned = OtlpWireScanner.TryScan(Signal.Traces, bytes, out var items);
            string parsed;
            try
            {
                var r = ExportTraceServiceRequest.Parser.ParseFrom(bytes);
                parsed = $"ok spans={SignalOps<ResourceSpans>.Instance.CountItems(r.ResourceSpans)}";
            }
            catch (InvalidProtocolBufferException e)
            {
                parsed = "throws " + e.Message;
            }

            TestContext.Out.WriteLine($"{name}: scanner={scanned} items={items}; parser {parsed}");
            if (scanned)
            {
                Assert.That(parsed, Is.EqualTo($"ok spans={items}"), name);
            }
        }

        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, cases["unknown fixed64"], out _), Is.True, "unknown fields are forwarded, not decoded");
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var b = new List<byte>(seed);
        for (var n = random.Next(1, 4); n > 0 && b.Count > 0; n--)
        {
            var at = random.Next(b.Count);
            switch (random.Next(7))
            {
                case 0: b[at] = (byte)random.Next(256); break;
                case 1: b[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: b.Insert(at, (byte)random.Next(256)); break;
                case 3: b.RemoveAt(at); break;
                case 4:
                    // duplicate a slice (repeats fields)
                    var len = random.Next(1, Math.Min(64, b.Count - at) + 1);
                    b.InsertRange(at, b.GetRange(at, len));
                    break;
                case 5:
                    // non-canonical varint: insert 0x80 continuation before a byte < 0x80
                    if (b[at] < 0x80) { b[at] |= 0x80; b.Insert(at + 1, 0x00); }
                    break;
                default:
                    b[at] = (byte)(b[at] + random.Next(-2, 3)); break;
            }
        }

        return [.. b];
    }

    private static byte[] LengthDelimited(int field, byte[] payload)
    {
        var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(payload));
        output.Flush();
        return stream.ToArray();
    }

    private static byte[] Concat(params byte[][] parts)
    {
        var all = new List<byte>();
        foreach (var part in parts)
        {
            all.AddRange(part);
        }

        return [.. all];
    }

    [Test]
    public async Task Grpc_in_batch_grpc_out_forwards_the_received_bytes_without_decoding()
    {
        await using var backend = await GrpcTestBackend.StartAsync();
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(
            $$"""
            receivers:
              otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              batch: { send_batch_size: 30, timeout: 10s }
            exporters:
              otlp: { endpoint: "{{backend.Endpoint}}", compression: none }
            service:
              telemetry: { metrics: { endpoint: null } }
              pipelines:
                traces: { receivers: [otlp], processors: [batch], exporters: [otlp] }
            """);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new TraceService.TraceServiceClient(channel);
        var random = new Random(11);
        var sent = new ExportTraceServiceRequest();
        var before = Batch<ResourceSpans>.MaterialisedCount;
        var encodedBefore = Batch<ResourceSpans>.FromEncodedCount;
        for (var i = 0; i < 3; i++)
        {
            var request = OtlpSamples.Traces(10, $"svc{i}");
            request.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes.Add(new KeyValue { Key = "k", Value = new AnyValue { StringValue = new string('x', random.Next(1, 50)) } });
            sent.ResourceSpans.AddRange(request.ResourceSpans);
            var reply = await client.ExportAsync(request);
            Assert.That(reply.PartialSuccess, Is.Null);
        }

        await Poll.UntilAsync(() => !backend.Calls.IsEmpty, TimeSpan.FromSeconds(10), "the forwarded batch");
        Assert.That(backend.Calls, Has.Count.EqualTo(1), "three requests of 10 spans reach send_batch_size 30 once");
        var received = (ExportTraceServiceRequest)backend.Calls.Single().Request;
        Assert.That(received, Is.EqualTo(sent));
        Assert.That(Batch<ResourceSpans>.FromEncodedCount - encodedBefore, Is.EqualTo(3), "every request travelled encoded");
        Assert.That(Batch<ResourceSpans>.MaterialisedCount, Is.EqualTo(before), "nothing was decoded on the way");
    }

    [Test]
    public async Task Http_protobuf_in_is_forwarded_as_received_and_json_in_is_decoded()
    {
        await using var backend = await GrpcTestBackend.StartAsync();
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(
            $$"""
            receivers:
              otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } }
            exporters:
              otlp: { endpoint: "{{backend.Endpoint}}", compression: none }
            service:
              telemetry: { metrics: { endpoint: null } }
              pipelines:
                traces: { receivers: [otlp], exporters: [otlp] }
            """);
        using var http = new HttpClient();
        var request = OtlpSamples.Traces(5, "svc-http");
        var encodedBefore = Batch<ResourceSpans>.FromEncodedCount;

        using (var protobuf = new ByteArrayContent(request.ToByteArray()))
        {
            protobuf.Headers.ContentType = new("application/x-protobuf");
            var reply = await http.PostAsync(new Uri($"http://127.0.0.1:{port}/v1/traces"), protobuf);
            Assert.That(reply.IsSuccessStatusCode, Is.True);
        }

        Assert.That(Batch<ResourceSpans>.FromEncodedCount - encodedBefore, Is.EqualTo(1), "protobuf over HTTP travels encoded");
        using (var json = new ByteArrayContent(Collector.Pipeline.Otlp.OtlpJson.FormatUtf8(request)))
        {
            json.Headers.ContentType = new("application/json");
            var reply = await http.PostAsync(new Uri($"http://127.0.0.1:{port}/v1/traces"), json);
            Assert.That(reply.IsSuccessStatusCode, Is.True);
        }

        await Poll.UntilAsync(() => backend.Calls.Count == 2, TimeSpan.FromSeconds(10), "both requests at the backend");
        Assert.That(Batch<ResourceSpans>.FromEncodedCount - encodedBefore, Is.EqualTo(1), "JSON is decoded, not forwarded");
        foreach (var call in backend.Calls)
        {
            Assert.That((ExportTraceServiceRequest)call.Request, Is.EqualTo(request));
        }
    }

    [Test]
    public async Task Undecodable_grpc_input_is_still_invalid_argument()
    {
        var port = Ports.Free();
        await using var collector = await RunningCollector.StartAsync(
            $$"""
            receivers:
              otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{{port}}" } } }
            processors:
              batch: {}
            exporters:
              debug: {}
            service:
              telemetry: { metrics: { endpoint: null } }
              pipelines:
                traces: { receivers: [otlp], processors: [batch], exporters: [debug] }
            """);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var truncated = OtlpSamples.Traces(3).ToByteArray()[..^3];
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await channel.CreateCallInvoker().AsyncUnaryCall(GrpcTestSupport.RawExport(), null, default, truncated));
        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }

    [Test]
    public void A_materialised_batch_is_no_longer_encoded_and_merged_segments_decode_together()
    {
        var a = OtlpSamples.Traces(2, "a").ToByteArray();
        var b = OtlpSamples.Traces(3, "b").ToByteArray();
        var batch = Batch<ResourceSpans>.FromEncoded(a, 2, a.Length, null);
        var clone = batch.Clone();
        Assert.That(batch.TryAppendEncoded(Batch<ResourceSpans>.FromEncoded(b, 3, b.Length, null)), Is.True);
        Assert.That(batch.TryGetEncoded(out var segments), Is.True);
        Assert.That(Batch<ResourceSpans>.Concat(segments), Has.Length.EqualTo(a.Length + b.Length));
        Assert.That(segments, Has.Count.EqualTo(2));
        Assert.That(clone.TryGetEncoded(out var cloneSegments) && cloneSegments.Count == 1, Is.True, "the clone has its own segment list");

        Assert.That(batch.Resources, Has.Count.EqualTo(2));
        Assert.That(SignalOps<ResourceSpans>.Instance.CountItems(batch.Resources), Is.EqualTo(5));
        Assert.That(batch.TryGetEncoded(out _), Is.False);
        Assert.That(batch.TryAppendEncoded(clone), Is.False);
    }

    private static ByteString RandomId(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    private static KeyValue RandomAttribute(Random random, int depth = 0) => new()
    {
        Key = "k" + random.Next(100),
        Value = random.Next(depth < 2 ? 5 : 3) switch
        {
            0 => new AnyValue { StringValue = "välue" + random.Next() },
            1 => new AnyValue { IntValue = random.NextInt64() },
            2 => new AnyValue { DoubleValue = random.NextDouble() },
            3 => new AnyValue { KvlistValue = new KeyValueList { Values = { RandomAttribute(random, depth + 1) } } },
            _ => new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { BoolValue = true }, RandomAttribute(random, depth + 1).Value } } },
        },
    };

    private static Resource RandomResource(Random random) => new() { Attributes = { RandomAttribute(random), RandomAttribute(random) } };

    private static ExportTraceServiceRequest RandomTraces(Random random)
    {
        var request = new ExportTraceServiceRequest();
        for (var r = random.Next(0, 3); r > 0; r--)
        {
            var resource = new ResourceSpans { Resource = RandomResource(random), SchemaUrl = "s" };
            for (var s = random.Next(0, 3); s > 0; s--)
            {
                var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "scope" } };
                for (var i = random.Next(0, 6); i > 0; i--)
                {
                    scope.Spans.Add(new Span
                    {
                        TraceId = RandomId(random, 16),
                        SpanId = RandomId(random, 8),
                        ParentSpanId = random.Next(2) == 0 ? ByteString.Empty : RandomId(random, 8),
                        Name = "span",
                        Kind = Span.Types.SpanKind.Client,
                        StartTimeUnixNano = (ulong)random.NextInt64(),
                        Attributes = { RandomAttribute(random) },
                        Events = { new Span.Types.Event { Name = "e", Attributes = { RandomAttribute(random) } } },
                        Links = { new Span.Types.Link { TraceId = RandomId(random, 16), SpanId = RandomId(random, 8) } },
                        Status = new Status { Code = Status.Types.StatusCode.Ok },
                    });
                }

                resource.ScopeSpans.Add(scope);
            }

            request.ResourceSpans.Add(resource);
        }

        return request;
    }

    private static ExportMetricsServiceRequest RandomMetrics(Random random)
    {
        var request = new ExportMetricsServiceRequest();
        for (var r = random.Next(0, 3); r > 0; r--)
        {
            var scope = new ScopeMetrics();
            for (var m = random.Next(0, 6); m > 0; m--)
            {
                var points = random.Next(0, 4);
                var metric = new Metric { Name = "m" + m };
                switch (random.Next(5))
                {
                    case 0:
                        metric.Gauge = new Gauge();
                        for (var p = 0; p < points; p++)
                        {
                            metric.Gauge.DataPoints.Add(new NumberDataPoint { AsDouble = p, Attributes = { RandomAttribute(random) } });
                        }

                        break;
                    case 1:
                        metric.Sum = new Sum { IsMonotonic = true };
                        for (var p = 0; p < points; p++)
                        {
                            metric.Sum.DataPoints.Add(new NumberDataPoint { AsInt = p, Exemplars = { new Exemplar { AsInt = 1, TraceId = RandomId(random, 16) } } });
                        }

                        break;
                    case 2:
                        metric.Histogram = new Histogram();
                        for (var p = 0; p < points; p++)
                        {
                            metric.Histogram.DataPoints.Add(new HistogramDataPoint { Count = 3, BucketCounts = { 1, 2, 0 }, ExplicitBounds = { 1.5, 2.5 } });
                        }

                        break;
                    case 3:
                        metric.ExponentialHistogram = new ExponentialHistogram();
                        for (var p = 0; p < points; p++)
                        {
                            metric.ExponentialHistogram.DataPoints.Add(new ExponentialHistogramDataPoint { Count = 1, Positive = new ExponentialHistogramDataPoint.Types.Buckets { BucketCounts = { 1 } } });
                        }

                        break;
                    default:
                        metric.Summary = new Summary();
                        for (var p = 0; p < points; p++)
                        {
                            metric.Summary.DataPoints.Add(new SummaryDataPoint { Count = 1, QuantileValues = { new SummaryDataPoint.Types.ValueAtQuantile { Quantile = 0.5, Value = 1 } } });
                        }

                        break;
                }

                scope.Metrics.Add(metric);
            }

            request.ResourceMetrics.Add(new ResourceMetrics { Resource = RandomResource(random), ScopeMetrics = { scope } });
        }

        return request;
    }

    private static ExportLogsServiceRequest RandomLogs(Random random)
    {
        var request = new ExportLogsServiceRequest();
        for (var r = random.Next(0, 3); r > 0; r--)
        {
            var scope = new ScopeLogs();
            for (var i = random.Next(0, 6); i > 0; i--)
            {
                scope.LogRecords.Add(new LogRecord
                {
                    TraceId = random.Next(2) == 0 ? ByteString.Empty : RandomId(random, 16),
                    SpanId = random.Next(2) == 0 ? ByteString.Empty : RandomId(random, 8),
                    Body = RandomAttribute(random).Value,
                    SeverityNumber = SeverityNumber.Info,
                    Attributes = { RandomAttribute(random) },
                });
            }

            request.ResourceLogs.Add(new ResourceLogs { Resource = RandomResource(random), ScopeLogs = { scope } });
        }

        return request;
    }
}
