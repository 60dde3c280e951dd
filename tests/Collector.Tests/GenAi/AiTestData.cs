using Collector.GenAi;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing;

/// <summary>Span builders and attribute readers shared by the AI processing tests.</summary>
internal static class AiTestData
{
    /// <summary>A span carrying <paramref name="attributes"/>: strings, longs, doubles, bools or AnyValues.</summary>
    public static Span SpanWith(params (string Key, object Value)[] attributes)
    {
        var span = TestSupport.TestData.Span("llm");
        foreach (var (key, value) in attributes)
        {
            span.Attributes.Add(new KeyValue { Key = key, Value = Value(value) });
        }

        return span;
    }

    public static AnyValue Value(object value) => value switch
    {
        AnyValue v => v,
        string s => new AnyValue { StringValue = s },
        int i => new AnyValue { IntValue = i },
        long l => new AnyValue { IntValue = l },
        double d => new AnyValue { DoubleValue = d },
        bool b => new AnyValue { BoolValue = b },
        _ => throw new ArgumentException($"unsupported attribute value {value}", nameof(value)),
    };

    public static AnyValue? Get(Span span, string key) => OtlpAttributes.Find(span.Attributes, key);

    public static string? GetString(Span span, string key) => OtlpAttributes.FindString(span.Attributes, key);

    public static long? GetInt(Span span, string key) =>
        Get(span, key) is { ValueCase: AnyValue.ValueOneofCase.IntValue } v ? v.IntValue : null;

    public static List<string> Keys(Span span)
    {
        var keys = new List<string>();
        foreach (var a in span.Attributes)
        {
            keys.Add(a.Key);
        }

        return keys;
    }

    public static ByteString Bytes(params byte[] bytes) => ByteString.CopyFrom(bytes);
}
