using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.TestSupport;

/// <summary>Builders for OTLP test data with unique, checkable ids.</summary>
internal static class TestData
{
    private static long _next;

    public static ComponentContext Context(string id = "test", SelfMetrics? metrics = null) =>
        new(ComponentIdOf(id), Serilog.Core.Logger.None, metrics ?? new SelfMetrics(), new SharedComponents()) { PipelineId = "traces" };

    public static ComponentId ComponentIdOf(string text) =>
        ComponentId.TryParse(text, out var id) ? id : throw new ArgumentException(text, nameof(text));

    public static byte[] NewTraceId() => Id(16);

    public static byte[] NewSpanId() => Id(8);

    private static byte[] Id(int length)
    {
        var bytes = new byte[length];
        var n = Interlocked.Increment(ref _next);
        BitConverter.TryWriteBytes(bytes.AsSpan(length - 8), n);

        // A non-zero marker in a byte the counter does not reach (ids must not be all zero).
        bytes[length == 8 ? 7 : 0] = 0x5a;
        return bytes;
    }

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static Span Span(string name, byte[]? traceId = null) => new()
    {
        TraceId = ByteString.CopyFrom(traceId ?? NewTraceId()),
        SpanId = ByteString.CopyFrom(NewSpanId()),
        Name = name,
        Kind = OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Client,
        StartTimeUnixNano = 1_700_000_000_000_000_000,
        EndTimeUnixNano = 1_700_000_000_500_000_000,
    };

    /// <summary>resources x scopes x spans, every span unique.</summary>
    public static RepeatedField<ResourceSpans> Spans(int resources, int scopesPerResource, int spansPerScope)
    {
        var result = new RepeatedField<ResourceSpans>();
        for (var r = 0; r < resources; r++)
        {
            var rs = new ResourceSpans { Resource = new Resource() };
            rs.Resource.Attributes.Add(Attr("service.name", $"svc-{r}"));
            for (var s = 0; s < scopesPerResource; s++)
            {
                var ss = new ScopeSpans { Scope = new InstrumentationScope { Name = $"scope-{s}" } };
                for (var i = 0; i < spansPerScope; i++)
                {
                    ss.Spans.Add(Span($"span-{r}-{s}-{i}"));
                }

                rs.ScopeSpans.Add(ss);
            }

            result.Add(rs);
        }

        return result;
    }

    public static Batch<ResourceSpans> SpanBatch(int resources, int scopes, int spans) => Batch<ResourceSpans>.Create(Spans(resources, scopes, spans));

    /// <summary>Every span name in the batches, in order.</summary>
    public static List<string> SpanNames(IEnumerable<Batch<ResourceSpans>> batches)
    {
        var names = new List<string>();
        foreach (var b in batches)
        {
            foreach (var rs in b.Resources)
            {
                foreach (var ss in rs.ScopeSpans)
                {
                    foreach (var span in ss.Spans)
                    {
                        names.Add(span.Name);
                    }
                }
            }
        }

        return names;
    }
}
