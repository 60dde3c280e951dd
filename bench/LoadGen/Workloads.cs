using System.Buffers.Binary;
using System.Text;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.LoadGen;

/// <summary>
/// One request's payload, encoded once; each request gets fresh ids by patching the id bytes
/// (protobuf) or hex text (JSON) in a copy, so the client spends almost nothing per request and
/// every span id in the run is unique and decodes back to its sequence number at the sink.
/// </summary>
internal sealed class PayloadTemplate
{
    private readonly byte[] _protobuf;
    private readonly byte[] _json;
    private readonly int[][] _spanProto;
    private readonly int[][] _spanJson;
    private readonly int[][] _traceProto;
    private readonly int[][] _traceJson;

    private PayloadTemplate(ExportTraceServiceRequest request, List<byte[]> spanMarkers, List<byte[]> traceMarkers, List<int> dualLinkDuplicates)
    {
        AllSpans = new int[spanMarkers.Count];
        var survivors = new List<int>(spanMarkers.Count);
        for (var i = 0; i < AllSpans.Length; i++)
        {
            AllSpans[i] = i;
            if (!dualLinkDuplicates.Contains(i))
            {
                survivors.Add(i);
            }
        }

        DualLinkSurvivors = [.. survivors];
        _protobuf = request.ToByteArray();
        _json = OtlpJson.FormatUtf8(request);
        SpanCount = spanMarkers.Count;
        _spanProto = Find(_protobuf, spanMarkers, hex: false);
        _spanJson = Find(_json, spanMarkers, hex: true);
        _traceProto = Find(_protobuf, traceMarkers, hex: false);
        _traceJson = Find(_json, traceMarkers, hex: true);
        Request = request;
    }

    public int SpanCount { get; }

    public ExportTraceServiceRequest Request { get; }

    /// <summary>Every span index of a request: what arrives when nothing merges spans.</summary>
    public int[] AllSpans { get; }

    /// <summary>The span indexes that survive langtrace_merge's dual-link de-duplication (the duplicates are dropped).</summary>
    public int[] DualLinkSurvivors { get; }

    public int ProtobufSize => _protobuf.Length;

    public int JsonSize => _json.Length;

    /// <summary>Span ids are (requestSeq * SpanCount + index + 1) big-endian, so the sink maps them back to a sequence number.</summary>
    public byte[] Render(long requestSeq, bool json)
    {
        var bytes = (byte[])(json ? _json : _protobuf).Clone();
        Span<byte> id = stackalloc byte[16];
        for (var i = 0; i < _spanProto.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(id, SpanSequence(requestSeq, i));
            Write(bytes, json ? _spanJson[i] : _spanProto[i], id[..8], json);
        }

        for (var t = 0; t < _traceProto.Length; t++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(id, (ulong)requestSeq + 1);
            BinaryPrimitives.WriteUInt64BigEndian(id[8..], (ulong)t + 0x1000);
            Write(bytes, json ? _traceJson[t] : _traceProto[t], id, json);
        }

        return bytes;
    }

    public ulong SpanSequence(long requestSeq, int index) => ((ulong)requestSeq * (ulong)SpanCount) + (ulong)index + 1;

    private static void Write(byte[] target, int[] offsets, ReadOnlySpan<byte> id, bool hex)
    {
        foreach (var offset in offsets)
        {
            if (hex)
            {
                Encoding.ASCII.GetBytes(Convert.ToHexStringLower(id), target.AsSpan(offset));
            }
            else
            {
                id.CopyTo(target.AsSpan(offset));
            }
        }
    }

    private static int[][] Find(byte[] haystack, List<byte[]> markers, bool hex)
    {
        var result = new int[markers.Count][];
        for (var m = 0; m < markers.Count; m++)
        {
            var needle = hex ? Encoding.ASCII.GetBytes(Convert.ToHexStringLower(markers[m])) : markers[m];
            var offsets = new List<int>();
            for (var start = 0; ;)
            {
                var at = haystack.AsSpan(start).IndexOf(needle);
                if (at < 0)
                {
                    break;
                }

                offsets.Add(start + at);
                start += at + needle.Length;
            }

            if (offsets.Count == 0)
            {
                throw new InvalidOperationException("id marker not found in the encoded template");
            }

            result[m] = [.. offsets];
        }

        return result;
    }

    /// <summary>Builds a template from spans whose ids are random markers (recorded in order).</summary>
    public sealed class Builder
    {
        private readonly Random _random = new(42);
        private readonly List<byte[]> _spanMarkers = [];
        private readonly List<byte[]> _traceMarkers = [];
        private readonly List<int> _dualLinkDuplicates = [];

        public ExportTraceServiceRequest Request { get; } = new();

        public byte[] NewTraceId() => Marker(16, _traceMarkers);

        /// <summary>A span id; <paramref name="dualLinkDuplicate"/> marks a span that langtrace_merge merges into another and drops.</summary>
        public byte[] NewSpanId(bool dualLinkDuplicate = false)
        {
            if (dualLinkDuplicate)
            {
                _dualLinkDuplicates.Add(_spanMarkers.Count);
            }

            return Marker(8, _spanMarkers);
        }

        public PayloadTemplate Build() => new(Request, _spanMarkers, _traceMarkers, _dualLinkDuplicates);

        private byte[] Marker(int length, List<byte[]> list)
        {
            var bytes = new byte[length];
            _random.NextBytes(bytes);
            bytes[0] = 0xA7;
            list.Add(bytes);
            return bytes;
        }
    }
}

internal static class Workloads
{
    private const ulong StartNanos = 1_760_000_000_000_000_000;

    public static PayloadTemplate Create(string workload, int spansPerRequest, int attributesPerSpan) => workload switch
    {
        "llm" => Llm(spansPerRequest),
        _ => Testbed(spansPerRequest, attributesPerSpan),
    };

    /// <summary>The OpenTelemetry Collector testbed's Trace10kSPS shape: N spans per request, M attributes per span.</summary>
    public static PayloadTemplate Testbed(int spansPerRequest, int attributesPerSpan)
    {
        var b = new PayloadTemplate.Builder();
        var rs = new ResourceSpans { Resource = Resource("testbed-app") };
        var ss = new ScopeSpans { Scope = new InstrumentationScope { Name = "load-generator", Version = "1.0" } };
        rs.ScopeSpans.Add(ss);
        b.Request.ResourceSpans.Add(rs);
        var traceId = Array.Empty<byte>();
        ByteString root = ByteString.Empty;
        for (var i = 0; i < spansPerRequest; i++)
        {
            if (i % 10 == 0)
            {
                traceId = b.NewTraceId();
            }

            var span = new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(b.NewSpanId()),
                ParentSpanId = i % 10 == 0 ? ByteString.Empty : root,
                Name = $"load-generator-span-{i % 10}",
                Kind = Span.Types.SpanKind.Client,
                StartTimeUnixNano = StartNanos + ((ulong)i * 1000),
                EndTimeUnixNano = StartNanos + ((ulong)i * 1000) + 250_000,
                Status = new Status { Code = Status.Types.StatusCode.Ok },
            };
            if (i % 10 == 0)
            {
                root = span.SpanId;
            }

            for (var a = 0; a < attributesPerSpan; a++)
            {
                span.Attributes.Add(a % 5 == 4
                    ? Int($"load_generator.attr_{a}", (a * 7919) + i)
                    : Str($"load_generator.attr_{a}", $"value-{a}-{i % 10}-abcdefgh"));
            }

            ss.Spans.Add(span);
        }

        return b.Build();
    }

    /// <summary>
    /// Realistic LLM app traces (docs/architecture.md, "Flow"): an HTTP request, a framework chain,
    /// retrieval and embedding, a chat call traced twice (OTel GenAI and Langtrace), a tool call,
    /// prompts with personal data, and prompt/completion events. 10 spans per trace.
    /// </summary>
    public static PayloadTemplate Llm(int spansPerRequest)
    {
        var b = new PayloadTemplate.Builder();
        var rs = new ResourceSpans { Resource = Resource("support-bot") };
        var otel = new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai", Version = "0.48.0" } };
        var langtrace = new ScopeSpans { Scope = new InstrumentationScope { Name = "langtrace-python-sdk", Version = "3.3.0" } };
        rs.ScopeSpans.Add(otel);
        rs.ScopeSpans.Add(langtrace);
        b.Request.ResourceSpans.Add(rs);
        var traces = Math.Max(1, spansPerRequest / 10);
        for (var t = 0; t < traces; t++)
        {
            var traceId = ByteString.CopyFrom(b.NewTraceId());
            var offset = StartNanos + ((ulong)t * 10_000_000_000);
            Span New(string name, Span? parent, Span.Types.SpanKind kind, ulong startMs, ulong durationMs, ScopeSpans scope, bool dualLinkDuplicate = false)
            {
                var span = new Span
                {
                    TraceId = traceId,
                    SpanId = ByteString.CopyFrom(b.NewSpanId(dualLinkDuplicate)),
                    ParentSpanId = parent?.SpanId ?? ByteString.Empty,
                    Name = name,
                    Kind = kind,
                    StartTimeUnixNano = offset + (startMs * 1_000_000),
                    EndTimeUnixNano = offset + ((startMs + durationMs) * 1_000_000),
                };
                scope.Spans.Add(span);
                return span;
            }

            var prompt = $"Hi, I'm customer #{t}. My e-mail is jane.doe{t}@example.com and my phone is +1 415 555 01{t % 100:00}. Why was my card 4111 1111 1111 1111 charged twice?";
            var completion = "I am sorry about the double charge. I have opened refund case ACME-004711; you will get an e-mail within 2 business days.";
            var http = New("POST /chat", null, Span.Types.SpanKind.Server, 0, 2400, otel);
            http.Attributes.Add([Str("http.request.method", "POST"), Str("url.path", "/chat"), Int("http.response.status_code", 200), Str("http.request.header.authorization", "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz012345")]);
            var chain = New("support_chain", http, Span.Types.SpanKind.Internal, 5, 2380, langtrace);
            chain.Attributes.Add([Str("langtrace.service.type", "framework"), Str("langtrace.service.name", "langchain"), Str("langtrace.sdk.name", "langtrace-python-sdk")]);
            var embed = New("embeddings text-embedding-3-small", chain, Span.Types.SpanKind.Client, 10, 120, otel);
            embed.Attributes.Add([Str("gen_ai.operation.name", "embeddings"), Str("gen_ai.provider.name", "openai"), Str("gen_ai.request.model", "text-embedding-3-small"), Int("gen_ai.usage.input_tokens", 42)]);
            var retrieval = New("pinecone.query", chain, Span.Types.SpanKind.Client, 135, 80, langtrace);
            retrieval.Attributes.Add([Str("langtrace.service.type", "vectordb"), Str("langtrace.service.name", "pinecone"), Str("db.system", "pinecone"), Int("db.query.top_k", 5)]);
            var rerank = New("rerank", chain, Span.Types.SpanKind.Client, 220, 60, otel);
            rerank.Attributes.Add([Str("openinference.span.kind", "RERANKER"), Str("reranker.model_name", "rerank-english-v3.0")]);
            var chat = New("chat gpt-4o", chain, Span.Types.SpanKind.Client, 300, 1800, otel);
            chat.Attributes.Add([
                Str("gen_ai.operation.name", "chat"), Str("gen_ai.provider.name", "openai"), Str("gen_ai.request.model", "gpt-4o"),
                Str("gen_ai.response.model", "gpt-4o-2024-08-06"), Int("gen_ai.usage.input_tokens", 812), Int("gen_ai.usage.output_tokens", 96),
                Str("gen_ai.input.messages", $"[{{\"role\":\"user\",\"parts\":[{{\"type\":\"text\",\"content\":\"{prompt}\"}}]}}]"),
                Str("gen_ai.output.messages", $"[{{\"role\":\"assistant\",\"parts\":[{{\"type\":\"text\",\"content\":\"{completion}\"}}],\"finish_reason\":\"stop\"}}]")]);
            // The same call as traced by Langtrace: langtrace_merge merges it into the chat span above
            // (equal GenAI attribute counts, siblings: the earlier start is kept) and drops it.
            var chatLt = New("openai.chat.completions.create", chain, Span.Types.SpanKind.Client, 302, 1795, langtrace, dualLinkDuplicate: true);
            chatLt.Attributes.Add([
                Str("langtrace.service.type", "llm"), Str("langtrace.service.name", "OpenAI"), Str("gen_ai.system", "openai"),
                Str("gen_ai.request.model", "gpt-4o"), Str("llm.model", "gpt-4o"), Int("gen_ai.usage.input_tokens", 812), Int("gen_ai.usage.output_tokens", 96),
                Int("gen_ai.usage.total_tokens", 908)]);
            chatLt.Events.Add(Event("gen_ai.content.prompt", offset + 302_000_000, Str("gen_ai.prompt", $"[{{\"role\":\"user\",\"content\":\"{prompt}\"}}]")));
            chatLt.Events.Add(Event("gen_ai.content.completion", offset + 2_097_000_000, Str("gen_ai.completion", $"[{{\"role\":\"assistant\",\"content\":\"{completion}\"}}]")));
            var tool = New("execute_tool refund_lookup", chat, Span.Types.SpanKind.Internal, 900, 150, otel);
            tool.Attributes.Add([Str("gen_ai.operation.name", "execute_tool"), Str("gen_ai.tool.name", "refund_lookup"), Str("gen_ai.tool.call.arguments", "{\"card\":\"4111111111111111\",\"email\":\"jane.doe@example.com\"}")]);
            var db = New("SELECT refunds", tool, Span.Types.SpanKind.Client, 910, 20, otel);
            db.Attributes.Add([Str("db.system.name", "postgresql"), Str("db.query.text", "SELECT * FROM refunds WHERE card_last4 = $1"), Str("server.address", "10.0.3.17")]);
            var resp = New("POST /chat response", http, Span.Types.SpanKind.Internal, 2390, 5, otel);
            resp.Attributes.Add(Int("http.response.body.size", 512));
        }

        return b.Build();
    }

    private static Resource Resource(string service)
    {
        var r = new Resource();
        r.Attributes.Add([Str("service.name", service), Str("service.version", "1.4.2"), Str("deployment.environment.name", "bench"), Str("host.name", "bench-host-1"), Str("telemetry.sdk.language", "python")]);
        return r;
    }

    private static Span.Types.Event Event(string name, ulong time, KeyValue attribute)
    {
        var e = new Span.Types.Event { Name = name, TimeUnixNano = time };
        e.Attributes.Add(attribute);
        return e;
    }

    private static KeyValue Str(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue Int(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };
}
