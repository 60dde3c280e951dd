using System.Text;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Receiver.Langtrace;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.Tests.Receiver;

/// <summary>
/// Issue 14, loss path 1, measured: every nesting of a span attribute from 1 to 70 arrays and 1 to
/// 45 kvlists through each decoder the receivers use. "Lost" is accepted at the door but refused by
/// Google.Protobuf's default parse afterwards (spool replay, a peer collector). Uses only the
/// decoders' entry points, so the same sweep runs against the code before the fix.
/// </summary>
public sealed class NestingLimitSweepTests
{
    private const int MaxArrays = 70;
    private const int MaxKvlists = 45;

    [Test]
    public void Nothing_any_decoder_accepts_is_refused_by_the_parser_later()
    {
        var figures = new StringBuilder();
        var lost = 0;
        foreach (var (name, decode) in Decoders())
        {
            var (accepted, refused, lostHere, deepestArrays, deepestKvlists) = Sweep(decode);
            lost += lostHere;
            figures.AppendLine($"{name}: accepted {accepted}, refused {refused}, accepted then lost {lostHere}; deepest accepted: {deepestArrays} arrays, {deepestKvlists} kvlists");
        }

        TestContext.Out.WriteLine(figures.ToString());
        Assert.That(lost, Is.Zero, figures.ToString());
    }

    /// <summary>Each decoder as a receiver applies it: the bytes the pipeline carries on (and a spool stores), or an exception when refused.</summary>
    private static IEnumerable<(string Name, Func<int, bool, byte[]> Decode)> Decoders()
    {
        yield return ("otlp protobuf (scan, else parse)", (levels, kvlists) =>
        {
            // Vouched for by the scanner: forwarded as bytes; else decoded at the door.
            var bytes = Request(levels, kvlists).ToByteArray();
            return OtlpWireScanner.TryScan(Signal.Traces, bytes, out _) ? bytes : ExportTraceServiceRequest.Parser.ParseFrom(bytes).ToByteArray();
        });
        yield return ("otlp/json", (levels, kvlists) => OtlpJson.Parse(OtlpJson.FormatUtf8(Request(levels, kvlists)), ExportTraceServiceRequest.Parser).ToByteArray());
        yield return ("langtrace legacy array", (levels, kvlists) =>
        {
            var value = kvlists
                ? string.Concat(Enumerable.Repeat("{\"k\":", levels)) + "true" + new string('}', levels)
                : new string('[', levels) + "1" + new string(']', levels);
            var body = $$$"""[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"deep","attributes":{"deep":{{{value}}}}}]""";
            return new ExportTraceServiceRequest { ResourceSpans = { LangtraceRequestDecoder.DecodeJson(Encoding.UTF8.GetBytes(body)) } }.ToByteArray();
        });
    }

    private static (int Accepted, int Refused, int Lost, int DeepestArrays, int DeepestKvlists) Sweep(Func<int, bool, byte[]> decode)
    {
        int accepted = 0, refused = 0, lost = 0, deepestArrays = 0, deepestKvlists = 0;
        foreach (var kvlists in new[] { false, true })
        {
            for (var levels = 1; levels <= (kvlists ? MaxKvlists : MaxArrays); levels++)
            {
                byte[] carried;
                try
                {
                    carried = decode(levels, kvlists);
                }
                catch (Exception e) when (e is InvalidDataException or InvalidProtocolBufferException)
                {
                    refused++;
                    continue;
                }

                accepted++;
                if (kvlists)
                {
                    deepestKvlists = levels;
                }
                else
                {
                    deepestArrays = levels;
                }

                try
                {
                    ExportTraceServiceRequest.Parser.ParseFrom(carried);
                }
                catch (InvalidProtocolBufferException)
                {
                    lost++;
                }
            }
        }

        return (accepted, refused, lost, deepestArrays, deepestKvlists);
    }

    /// <summary>One span whose attribute nests <paramref name="levels"/> arrays or kvlists around a scalar.</summary>
    private static ExportTraceServiceRequest Request(int levels, bool kvlists)
    {
        var value = new AnyValue { IntValue = 1 };
        for (var i = 0; i < levels; i++)
        {
            value = kvlists
                ? new AnyValue { KvlistValue = new KeyValueList { Values = { new KeyValue { Key = "k", Value = value } } } }
                : new AnyValue { ArrayValue = new ArrayValue { Values = { value } } };
        }

        var request = OtlpSamples.Traces(1);
        request.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes.Add(new KeyValue { Key = "deep", Value = value });
        return request;
    }
}
