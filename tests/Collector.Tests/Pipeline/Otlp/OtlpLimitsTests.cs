using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Tests.Receiver;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.Otlp;

/// <summary>
/// One nesting limit for every decoder (issue 14, loss path 1): whatever the wire scanner or the
/// OTLP/JSON transcoder accepts parses again with Google.Protobuf's defaults (spool replay, a peer
/// collector), and one level deeper is refused as too deep, never vouched for.
/// </summary>
public sealed class OtlpLimitsTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void The_scanner_vouches_for_the_deepest_request_the_parser_reads_and_refuses_one_level_more(bool kvlists)
    {
        var deepest = NestedValues.Traces(OtlpLimits.MaxMessageDepth, kvlists);
        var tooDeep = NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1, kvlists);
        Assert.That(NestedValues.DepthOf(deepest), Is.EqualTo(100));
        Assert.That(NestedValues.DepthOf(tooDeep), Is.EqualTo(101));
        var deepestBytes = deepest.ToByteArray();
        var tooDeepBytes = tooDeep.ToByteArray();

        Assert.That(OtlpWireScanner.Scan(Signal.Traces, deepestBytes, out var items), Is.EqualTo(OtlpScanResult.Valid));
        Assert.That(items, Is.EqualTo(1));
        Assert.That(ExportTraceServiceRequest.Parser.ParseFrom(deepestBytes), Is.EqualTo(deepest), "what is accepted round-trips through the parser's defaults");

        Assert.That(OtlpWireScanner.Scan(Signal.Traces, tooDeepBytes, out _), Is.EqualTo(OtlpScanResult.TooDeep));
        Assert.That(OtlpWireScanner.TryScan(Signal.Traces, tooDeepBytes, out _), Is.False);
        var parserError = Assert.Throws<InvalidProtocolBufferException>(() => ExportTraceServiceRequest.Parser.ParseFrom(tooDeepBytes));
        Assert.That(OtlpLimits.IsTooDeep(parserError!), Is.True, "the scanner's limit is exactly the parser's");
    }

    [Test]
    public void A_log_body_gets_the_same_limit()
    {
        var deepest = NestedValues.Logs(OtlpLimits.MaxMessageDepth);
        var tooDeep = NestedValues.Logs(OtlpLimits.MaxMessageDepth + 1);
        Assert.That(NestedValues.DepthOf(deepest), Is.EqualTo(100));

        Assert.That(OtlpWireScanner.Scan(Signal.Logs, deepest.ToByteArray(), out _), Is.EqualTo(OtlpScanResult.Valid));
        Assert.That(ExportLogsServiceRequest.Parser.ParseFrom(deepest.ToByteArray()), Is.EqualTo(deepest));
        Assert.That(OtlpWireScanner.Scan(Signal.Logs, tooDeep.ToByteArray(), out _), Is.EqualTo(OtlpScanResult.TooDeep));
        Assert.That(OtlpLimits.IsTooDeep(Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(OtlpJson.FormatUtf8(tooDeep), ExportLogsServiceRequest.Parser))!), Is.True);
        Assert.That(OtlpJson.Parse(OtlpJson.FormatUtf8(deepest), ExportLogsServiceRequest.Parser), Is.EqualTo(deepest));
    }

    [Test]
    public void A_doubt_before_the_deep_part_leaves_the_depth_to_the_parser_which_says_so()
    {
        // The first span's ids are invalid: the scan stops there, and the decode path finds the depth.
        var request = NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1);
        var spans = request.ResourceSpans[0].ScopeSpans[0].Spans;
        spans.Insert(0, new OpenTelemetry.Proto.Trace.V1.Span { Name = "no ids" });
        var bytes = request.ToByteArray();

        Assert.That(OtlpWireScanner.Scan(Signal.Traces, bytes, out _), Is.EqualTo(OtlpScanResult.Doubtful));
        var error = Assert.Throws<InvalidProtocolBufferException>(() => ExportTraceServiceRequest.Parser.ParseFrom(bytes));
        Assert.That(OtlpLimits.IsTooDeep(error!), Is.True);
        var truncated = Assert.Throws<InvalidProtocolBufferException>(() => ExportTraceServiceRequest.Parser.ParseFrom(OtlpSamples.Traces(3).ToByteArray()[..^7]));
        Assert.That(OtlpLimits.IsTooDeep(truncated!), Is.False, "other parse errors stay decode errors");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void The_json_transcoder_accepts_what_the_parser_reads_and_refuses_one_level_more(bool kvlists)
    {
        var deepest = NestedValues.Traces(OtlpLimits.MaxMessageDepth, kvlists);
        var tooDeep = NestedValues.Traces(OtlpLimits.MaxMessageDepth + 1, kvlists);

        var decoded = OtlpJson.Parse(OtlpJson.FormatUtf8(deepest), ExportTraceServiceRequest.Parser);
        Assert.That(decoded, Is.EqualTo(deepest));
        Assert.That(ExportTraceServiceRequest.Parser.ParseFrom(decoded.ToByteArray()), Is.EqualTo(deepest), "replays from a spool");

        var error = Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(OtlpJson.FormatUtf8(tooDeep), ExportTraceServiceRequest.Parser));
        Assert.That(error!.Message, Does.Contain("nested deeper than 100 levels"));
        Assert.That(OtlpLimits.IsTooDeep(error!), Is.True);
        Assert.That(OtlpLimits.IsTooDeep(new InvalidDataException("invalid JSON")), Is.False);
    }

    [TestCase("[", "]", 60)]
    [TestCase("{\"k\":", "}", 40)]
    public void Json_a_processor_reads_into_an_attribute_stays_within_the_limit_and_keeps_the_rest_as_text(string open, string close, int levels)
    {
        // GenAI message extras (MessageJson -> AnyValueJson.Read) become span or event attributes.
        var json = string.Concat(Enumerable.Repeat(open, levels)) + "\"innermost\"" + string.Concat(Enumerable.Repeat(close, levels));
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var value = AnyValueJson.Read(document.RootElement);

        var request = OtlpSamples.Traces(1);
        var span = request.ResourceSpans[0].ScopeSpans[0].Spans[0];
        span.Events.Add(new OpenTelemetry.Proto.Trace.V1.Span.Types.Event { Name = "e", Attributes = { new OpenTelemetry.Proto.Common.V1.KeyValue { Key = "extra", Value = value } } });
        Assert.That(NestedValues.DepthOf(request), Is.LessThanOrEqualTo(OtlpLimits.MaxMessageDepth));
        Assert.That(ExportTraceServiceRequest.Parser.ParseFrom(request.ToByteArray()), Is.EqualTo(request), "parses again on replay");
        Assert.That(request.ToString(), Does.Contain("innermost"), "nothing is lost: the deepest part is kept as JSON text");
        Assert.That(AnyValueJson.Read(System.Text.Json.JsonDocument.Parse("[[1,{\"a\":[true]}]]").RootElement).ArrayValue.Values[0].ArrayValue.Values[1].KvlistValue.Values[0].Key, Is.EqualTo("a"), "shallow values still nest");
    }
}
