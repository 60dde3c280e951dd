using Collector.Pipeline;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.Encoded;

/// <summary>
/// Hand-written protobuf wire fields, for bytes a generated message would not produce (fields
/// given twice, wrong wire types, unknown fields, groups), and the request helpers the encoded tests share.
/// </summary>
internal static class Wire
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int StartGroup = 3;
    public const int EndGroup = 4;
    public const int Fixed32 = 5;

    public static byte[] Tag(int number, int wireType) => VarintBytes(((ulong)(uint)number << 3) | (uint)wireType);

    public static byte[] Ld(int number, params byte[][] payload)
    {
        var body = Concat(payload);
        return Concat(Tag(number, LengthDelimited), VarintBytes((ulong)body.Length), body);
    }

    public static byte[] VarintField(int number, ulong value) => Concat(Tag(number, Varint), VarintBytes(value));

    public static byte[] Fixed64Field(int number, ulong value) => Concat(Tag(number, Fixed64), BitConverter.GetBytes(value));

    public static byte[] Fixed32Field(int number, uint value) => Concat(Tag(number, Fixed32), BitConverter.GetBytes(value));

    public static byte[] Concat(params byte[][] parts)
    {
        var result = new List<byte>();
        foreach (var part in parts)
        {
            result.AddRange(part);
        }

        return [.. result];
    }

    public static byte[] VarintBytes(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>One request's bytes from decoded resources.</summary>
    public static byte[] Request(params ResourceSpans[] resources)
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resources);
        return request.ToByteArray();
    }

    public static ExportTraceServiceRequest Parse(params byte[][] segments) => ExportTraceServiceRequest.Parser.ParseFrom(Concat(segments));

    /// <summary>An encoded batch over <paramref name="segments"/>, as the batch processor joins received requests.</summary>
    public static Batch<ResourceSpans> EncodedBatch(params byte[][] segments)
    {
        Batch<ResourceSpans>? batch = null;
        foreach (var segment in segments)
        {
            var part = Batch<ResourceSpans>.FromEncoded(segment, Parse(segment).ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)), segment.Length, null);
            if (batch is null)
            {
                batch = part;
            }
            else
            {
                Assert.That(batch.TryAppendEncoded(part), Is.True);
                batch.ItemCount += part.ItemCount;
                batch.ByteSize += part.ByteSize;
            }
        }

        return batch!;
    }

    /// <summary>The same request decoded, as a receiver without the encoded path would hand it on.</summary>
    public static Batch<ResourceSpans> DecodedBatch(params byte[][] segments) => Batch<ResourceSpans>.Create(Parse(segments).ResourceSpans);

    /// <summary>What a consumer received, as one request per batch (for whole-structure comparison).</summary>
    public static List<ExportTraceServiceRequest> AsRequests(IEnumerable<Batch<ResourceSpans>> batches)
    {
        var requests = new List<ExportTraceServiceRequest>();
        foreach (var batch in batches)
        {
            var request = new ExportTraceServiceRequest();
            request.ResourceSpans.Add(batch.Resources);
            requests.Add(request);
        }

        return requests;
    }

    public static List<Span> SpansOf(RepeatedField<ResourceSpans> resources) =>
        [.. resources.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)];
}
