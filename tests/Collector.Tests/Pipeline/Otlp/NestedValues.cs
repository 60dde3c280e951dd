using Collector.Tests.Receiver;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;

namespace Collector.Tests.Otlp;

/// <summary>Requests whose deepest message sits at an exact level below the Export*ServiceRequest (the parser's count).</summary>
internal static class NestedValues
{
    /// <summary>Message level of a span attribute's AnyValue: resource spans, scope spans, span, key value, any value.</summary>
    public const int SpanAttributeValueLevel = 5;

    /// <summary>Message level of a log record's body: resource logs, scope logs, log record, any value.</summary>
    public const int LogBodyLevel = 4;

    /// <summary>An AnyValue with exactly <paramref name="levelsBelow"/> message levels under it: nested arrays, an empty one at the bottom when odd.</summary>
    public static AnyValue Arrays(int levelsBelow) => levelsBelow switch
    {
        0 => new AnyValue { StringValue = "leaf" },
        1 => new AnyValue { ArrayValue = new ArrayValue() },
        _ => new AnyValue { ArrayValue = new ArrayValue { Values = { Arrays(levelsBelow - 2) } } },
    };

    /// <summary>Nested kvlists (3 levels each), topped up with arrays to exactly <paramref name="levelsBelow"/>.</summary>
    public static AnyValue Kvlists(int levelsBelow) => levelsBelow < 3
        ? Arrays(levelsBelow)
        : new AnyValue { KvlistValue = new KeyValueList { Values = { new KeyValue { Key = "k", Value = Kvlists(levelsBelow - 3) } } } };

    /// <summary>One valid span whose attribute "nested" reaches message level <paramref name="depth"/>.</summary>
    public static ExportTraceServiceRequest Traces(int depth, bool kvlists = false, int spanIndex = 100)
    {
        var request = OtlpSamples.Traces(1);
        var span = request.ResourceSpans[0].ScopeSpans[0].Spans[0];
        span.SpanId = ByteString.CopyFrom(BitConverter.GetBytes((long)spanIndex));
        var below = depth - SpanAttributeValueLevel;
        span.Attributes.Add(new KeyValue { Key = "nested", Value = kvlists ? Kvlists(below) : Arrays(below) });
        return request;
    }

    /// <summary>One log record whose body reaches message level <paramref name="depth"/>.</summary>
    public static ExportLogsServiceRequest Logs(int depth)
    {
        var request = OtlpSamples.Logs(1);
        request.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body = Arrays(depth - LogBodyLevel);
        return request;
    }

    /// <summary>The deepest message level of <paramref name="message"/> (its own is 0), by the descriptors: checks the builders above.</summary>
    public static int DepthOf(IMessage message)
    {
        var deepest = 0;
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (field.FieldType != Google.Protobuf.Reflection.FieldType.Message)
            {
                continue;
            }

            var value = field.Accessor.GetValue(message);
            if (field.IsRepeated)
            {
                foreach (IMessage item in (System.Collections.IList)value)
                {
                    deepest = Math.Max(deepest, 1 + DepthOf(item));
                }
            }
            else if (value is IMessage child)
            {
                deepest = Math.Max(deepest, 1 + DepthOf(child));
            }
        }

        return deepest;
    }
}
