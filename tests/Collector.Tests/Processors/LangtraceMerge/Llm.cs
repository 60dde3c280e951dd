using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.LangtraceMerge;

/// <summary>Spans and events as each instrumentation writes them (docs/architecture.md, "GenAI processing", Conventions), timed in ms from a fixed origin.</summary>
internal static class Llm
{
    public const ulong T0 = 1_700_000_000_000_000_000;

    private static long _nextSpan;

    public static ulong At(double ms) => T0 + (ulong)(ms * 1_000_000);

    public static byte[] NewTrace() => TestData.NewTraceId();

    /// <summary>Unique span ids (TestData.NewSpanId overwrites the counter's low byte, so its 8-byte ids repeat).</summary>
    public static ByteString NewSpanId()
    {
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, 0x5a00_0000_0000_0000UL | (ulong)Interlocked.Increment(ref _nextSpan));
        return ByteString.CopyFrom(bytes);
    }

    public static Span Plain(byte[] trace, Span? parent, string name, double start = 0, double end = 1000, params KeyValue[] attributes)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(trace),
            SpanId = NewSpanId(),
            ParentSpanId = parent?.SpanId ?? ByteString.Empty,
            Name = name,
            Kind = Span.Types.SpanKind.Client,
            StartTimeUnixNano = At(start),
            EndTimeUnixNano = At(end),
        };
        span.Attributes.Add(attributes);
        return span;
    }

    private static void Tokens(Span span, string inputKey, long? input, string outputKey, long? output, string? totalKey = null)
    {
        if (input is { } i)
        {
            span.Attributes.Add(TestData.Attr(inputKey, i));
        }

        if (output is { } o)
        {
            span.Attributes.Add(TestData.Attr(outputKey, o));
        }

        if (totalKey is not null && input is not null && output is not null)
        {
            span.Attributes.Add(TestData.Attr(totalKey, input.Value + output.Value));
        }
    }

    /// <summary>OpenTelemetry GenAI instrumentation (opentelemetry-instrumentation-openai-v2).</summary>
    public static Span OtelChat(byte[] trace, Span? parent, double start = 0, double end = 1000, string model = "gpt-4o", long? input = 12, long? output = 30)
    {
        var span = Plain(trace, parent, $"chat {model}", start, end,
            TestData.Attr("gen_ai.operation.name", "chat"),
            TestData.Attr("gen_ai.provider.name", "openai"),
            TestData.Attr("gen_ai.request.model", model),
            TestData.Attr("gen_ai.response.model", model + "-2024-08-06"),
            TestData.Attr("gen_ai.response.id", "chatcmpl-1"),
            TestData.Attr("server.address", "api.openai.com"));
        Tokens(span, "gen_ai.usage.input_tokens", input, "gen_ai.usage.output_tokens", output);
        return span;
    }

    /// <summary>Langtrace Python SDK span (prompt and completion arrive as events).</summary>
    public static Span Langtrace(byte[] trace, Span? parent, double start = 0, double end = 1000, string model = "gpt-4o", long? input = 12, long? output = 30)
    {
        var span = Plain(trace, parent, "openai.chat.completions.create", start, end,
            TestData.Attr("langtrace.service.type", "llm"),
            TestData.Attr("langtrace.service.name", "OpenAI"),
            TestData.Attr("langtrace.service.version", "1.40.0"),
            TestData.Attr("langtrace.sdk.name", "langtrace-python-sdk"),
            TestData.Attr("langtrace.version", "2.1.0"),
            TestData.Attr("gen_ai.system", "openai"),
            TestData.Attr("gen_ai.operation.name", "chat"),
            TestData.Attr("gen_ai.request.model", model),
            TestData.Attr("url.full", "https://api.openai.com/v1/"));
        Tokens(span, "gen_ai.usage.input_tokens", input, "gen_ai.usage.output_tokens", output, "gen_ai.usage.total_tokens");
        return span;
    }

    /// <summary>OpenLLMetry (Traceloop) span with indexed prompt / completion attributes.</summary>
    public static Span OpenLlmetry(byte[] trace, Span? parent, double start = 0, double end = 1000, string model = "gpt-4o", long? input = 12, long? output = 30)
    {
        var span = Plain(trace, parent, "openai.chat", start, end,
            TestData.Attr("llm.request.type", "chat"),
            TestData.Attr("gen_ai.system", "OpenAI"),
            TestData.Attr("gen_ai.request.model", model),
            TestData.Attr("gen_ai.prompt.0.role", "user"),
            TestData.Attr("gen_ai.prompt.0.content", "What is the capital of France?"),
            TestData.Attr("gen_ai.completion.0.role", "assistant"),
            TestData.Attr("gen_ai.completion.0.content", "Paris."));
        Tokens(span, "gen_ai.usage.prompt_tokens", input, "gen_ai.usage.completion_tokens", output, "llm.usage.total_tokens");
        return span;
    }

    /// <summary>OpenInference (Arize) span.</summary>
    public static Span OpenInference(byte[] trace, Span? parent, double start = 0, double end = 1000, string model = "gpt-4o", long? input = 12, long? output = 30)
    {
        var span = Plain(trace, parent, "ChatCompletion", start, end,
            TestData.Attr("openinference.span.kind", "LLM"),
            TestData.Attr("llm.provider", "openai"),
            TestData.Attr("llm.system", "openai"),
            TestData.Attr("llm.model_name", model),
            TestData.Attr("llm.input_messages.0.message.role", "user"),
            TestData.Attr("llm.input_messages.0.message.content", "What is the capital of France?"),
            TestData.Attr("llm.output_messages.0.message.role", "assistant"),
            TestData.Attr("llm.output_messages.0.message.content", "Paris."),
            TestData.Attr("input.value", "What is the capital of France?"),
            TestData.Attr("output.value", "Paris."));
        Tokens(span, "llm.token_count.prompt", input, "llm.token_count.completion", output, "llm.token_count.total");
        return span;
    }

    public static Span Tool(byte[] trace, Span? parent, string tool, double start, double end) =>
        Plain(trace, parent, $"execute_tool {tool}", start, end,
            TestData.Attr("gen_ai.operation.name", "execute_tool"),
            TestData.Attr("gen_ai.tool.name", tool));

    /// <summary>An AI event as a log record with LogRecord.event_name.</summary>
    public static LogRecord Event(Span span, string name, double at, string? body = null, params KeyValue[] attributes)
    {
        var record = new LogRecord
        {
            TraceId = span.TraceId,
            SpanId = span.SpanId,
            EventName = name,
            TimeUnixNano = At(at),
            ObservedTimeUnixNano = At(at + 1),
            SeverityNumber = SeverityNumber.Info,
        };
        if (body is not null)
        {
            record.Body = new AnyValue { StringValue = body };
        }

        record.Attributes.Add(attributes);
        return record;
    }

    /// <summary>An AI event named by the event.name attribute (older SDKs).</summary>
    public static LogRecord AttributeEvent(Span span, string name, double at, params KeyValue[] attributes)
    {
        var record = Event(span, string.Empty, at, null, attributes);
        record.Attributes.Insert(0, TestData.Attr("event.name", name));
        return record;
    }

    public static KeyValue Attr(string key, string value) => TestData.Attr(key, value);

    public static KeyValue Attr(string key, long value) => TestData.Attr(key, value);

    public static string? Str(Span span, string key) => span.Attributes.FirstOrDefault(a => a.Key == key)?.Value?.StringValue;

    public static AnyValue? Value(IEnumerable<KeyValue> attributes, string key) => attributes.FirstOrDefault(a => a.Key == key)?.Value;
}
