using System.Text;
using System.Text.Json.Nodes;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.JsonCodec;

/// <summary>OtlpJson.Parse (single-pass transcoder) against its own formatter and against the former JsonNode + JsonParser path.</summary>
public sealed class OtlpJsonTranscoderTests
{
    [Test]
    public void Random_requests_of_every_signal_format_as_before_and_round_trip()
    {
        var random = new Random(11);
        for (var round = 0; round < 300; round++)
        {
            RoundTrip(RandomMessages.Create<ExportTraceServiceRequest>(random), ExportTraceServiceRequest.Parser, round);
            RoundTrip(RandomMessages.Create<ExportMetricsServiceRequest>(random), ExportMetricsServiceRequest.Parser, round);
            RoundTrip(RandomMessages.Create<ExportLogsServiceRequest>(random), ExportLogsServiceRequest.Parser, round);
        }

        // Parts are formatted on their own too (fixtures, redaction corpus).
        for (var round = 0; round < 30; round++)
        {
            FormatsAsBefore(RandomMessages.Create<OpenTelemetry.Proto.Trace.V1.Span>(random));
            FormatsAsBefore(RandomMessages.Create<OpenTelemetry.Proto.Logs.V1.LogRecord>(random));
            FormatsAsBefore(RandomMessages.Create<OpenTelemetry.Proto.Common.V1.AnyValue>(random));
            FormatsAsBefore(RandomMessages.Create<OpenTelemetry.Proto.Metrics.V1.Metric>(random));
        }

        // The responses are parsed too (otlphttp exporter).
        for (var round = 0; round < 20; round++)
        {
            RoundTrip(RandomMessages.Create<ExportTraceServiceResponse>(random), ExportTraceServiceResponse.Parser, round);
            RoundTrip(RandomMessages.Create<ExportMetricsServiceResponse>(random), ExportMetricsServiceResponse.Parser, round);
            RoundTrip(RandomMessages.Create<ExportLogsServiceResponse>(random), ExportLogsServiceResponse.Parser, round);
        }
    }

    private static void FormatsAsBefore(IMessage message) =>
        Assert.That(OtlpJson.Format(message), Is.EqualTo(LegacyOtlpJsonOracle.Format(message)), message.Descriptor.Name);

    private static void RoundTrip<T>(T request, MessageParser<T> parser, int round)
        where T : IMessage<T>, new()
    {
        var json = OtlpJson.FormatUtf8(request);
        Assert.That(Encoding.UTF8.GetString(json), Is.EqualTo(LegacyOtlpJsonOracle.Format(request)), $"{typeof(T).Name} round {round}: formatted as before");
        Assert.That(OtlpJson.Format(request), Is.EqualTo(Encoding.UTF8.GetString(json)));
        var parsed = OtlpJson.Parse(json, parser);
                Assert.That(parsed, Is.EqualTo(LegacyOtlpJsonOracle.Parse<T>(json)), $"{typeof(T).Name} round {round} matches the former decoder");
        Assert.That(parsed, Is.EqualTo(request), $"{typeof(T).Name} round {round}: {Encoding.UTF8.GetString(json)}");
    }

    private const string Span = """{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","name":"s"}""";

    private static string Traces(string span) => $$"""{"resourceSpans":[{"scopeSpans":[{"spans":[{{span}}]}]}]}""";

    private static string Attribute(string value) => Traces("""{"attributes":[{"key":"k","value":""" + value + "}]}");

    private static string Point(string point) => """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","histogram":{"dataPoints":[""" + point + "]}}]}]}]}";

    private static string Log(string record) => $$"""{"resourceLogs":[{"scopeLogs":[{"logRecords":[{{record}}]}]}]}""";

    /// <summary>Valid but unusual OTLP/JSON: each must decode exactly as the former decoder did.</summary>
    private static readonly string[] Accepted =
    [
        Traces(Span),
        """{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","parent_span_id":"","start_time_unix_nano":"1544712660000000000","end_time_unix_nano":1544712661000000000,"trace_state":"x=y","dropped_attributes_count":3}]}],"schema_url":"u"}]}""",
        Traces("""{"startTimeUnixNano":1544712660000000000,"endTimeUnixNano":"1544712661000000000","kind":"SPAN_KIND_SERVER","flags":"257"}"""),
        Traces("""{"kind":2,"status":{"code":"STATUS_CODE_ERROR","message":"m"}}"""),
        Traces("""{"kind":"NOT_A_KIND","status":{"code":1}}"""),
        Traces("""{"kind":2.0,"droppedEventsCount":1e2,"startTimeUnixNano":"1.5e3"}"""),
        Traces("""{"name":null,"attributes":null,"status":null,"traceId":null}"""),
        Traces("""{"unknown":{"nested":[1,{"a":[true,null,"x"]}],"traceId":"abcd"},"another":[[[]]],"spanId":"0102030405060708"}"""),
        Traces("""{"name":"esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u2028","traceState":"日本語 välue"}"""),
        Traces("""{"na\u006de":"escaped key","span\u0049d":"0a0b0c0d0e0f1011"}"""),
        Traces("""{"spanId":"0102030405060708","span_id":"1112131415161718"}"""),
        Traces("""{"status":{"code":1},"status_x":{"message":"x"}}"""),
        Traces("""{"droppedAttributesCount":1,"dropped_attributes_count":2}"""),
        Traces("""{"events":[{"name":"a"}],"events_x":1}"""),
        """{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}]}],"scope_spans":[{"spans":[{"name":"b"}]}]}]}""",
        """{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}]}],"scope_spans":null}]}""",
        """{"resourceSpans":[{"scope_spans":null,"scopeSpans":[{"spans":[{"name":"a"}]}]}]}""",
        """{"partialSuccess":{"rejectedSpans":"5"},"partial_success":{"errorMessage":"e"}}""",
        """{"partial_success":{"rejected_spans":5,"error_message":"e"},"partialSuccess":null}""",
        Attribute("""{"stringValue":"s"}"""),
        Attribute("""{"string_value":""}"""),
        Attribute("""{"intValue":"9223372036854775807"}"""),
        Attribute("""{"intValue":-9223372036854775808}"""),
        Attribute("""{"intValue":9007199254740993}"""),
        Attribute("""{"intValue":-9007199254740993}"""),
        Attribute("""{"intValue":9007199254740992}"""),
        Attribute("""{"intValue":0}"""),
        Attribute("""{"intValue":"-0"}"""),
        Attribute("""{"intValue":"1e3"}"""),
        Attribute("""{"doubleValue":"NaN"}"""),
        Attribute("""{"doubleValue":"Infinity"}"""),
        Attribute("""{"doubleValue":"-Infinity"}"""),
        Attribute("""{"doubleValue":"1.25"}"""),
        Attribute("""{"doubleValue":-0}"""),
        Attribute("""{"doubleValue":12345678901234567890}"""),
        Attribute("""{"boolValue":false}"""),
        Attribute("""{"bytesValue":"AQID"}"""),
        Attribute("""{"bytesValue":""}"""),
        Attribute("""{"bytes_value":"AQ=="}"""),
        Attribute("""{"stringValue":null,"x":3}"""),
        Attribute("""{"arrayValue":{"values":[{"stringValue":"a"},{"kvlistValue":{"values":[{"key":"x","value":{"boolValue":true}}]}},{}]}}"""),
        Attribute("""{"kvlist_value":{"values":[]}}"""),
        Attribute("""{}"""),
        Attribute("""{"stringValue":12345678901234567890}"""),
        Traces("""{"traceId":12345678901234567890}"""),
        Traces("""{"kind":12345678901234567890}"""),
        Point("""{"count":"3","sum":0,"bucketCounts":["1",2,18446744073709551615],"explicitBounds":[1,"2.5","NaN",1e2],"min":null,"max":-1.5,"flags":1,"exemplars":[{"asInt":"-5","spanId":"0102030405060708","filteredAttributes":[]}]}"""),
        Point("""{"bucketCounts":[],"explicit_bounds":[],"bucket_counts":["7"]}"""),
        """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"exponentialHistogram":{"dataPoints":[{"scale":-3,"zeroCount":"1","positive":{"offset":-2,"bucketCounts":[1,"2"]},"negative":{},"zeroThreshold":0.5}],"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE"}},{"summary":{"dataPoints":[{"quantileValues":[{"quantile":0.5,"value":"1"}]}]}},{"sum":{"isMonotonic":true,"dataPoints":[{"asDouble":"Infinity"}]}},{"gauge":{"dataPoints":[{"as_int":7}]}}]}]}]}""",
        Log("""{"severityNumber":"SEVERITY_NUMBER_INFO","severityText":"I","body":{"stringValue":"b"},"traceId":"","spanId":"0102030405060708","observedTimeUnixNano":"1","eventName":"e","flags":4294967295}"""),
        Log("""{"severity_number":9,"body":null,"trace_id":"0102030405060708090A0B0C0D0E0F10"}"""),
        "  {\"resourceSpans\":[]}  \n",
        "{}",
    ];

    /// <summary>Malformed or mistyped input: both decoders refuse it, the new one with InvalidDataException.</summary>
    private static readonly string[] Refused =
    [
        "",
        "   ",
        "[]",
        "null",
        "\"x\"",
        "{\"resourceSpans\":[",
        "{\"resourceSpans\":[]} x",
        "{\"resourceSpans\":[]}{}",
        "{'resourceSpans':[]}",
        "{\"resourceSpans\":[],}",
        Traces("""{"traceId":"xyz0"}"""),
        Traces("""{"traceId":"abc"}"""),
        Traces("""{"spanId":"010203040506070"}"""),
        Traces("""{"unknown":{"spanId":"zz"}}"""),
        Traces("""{"unknown":[{"trace_id":"123"}]}"""),
        Attribute("""{"bytesValue":"not base64!"}"""),
        Attribute("""{"bytesValue":"AQI"}"""),
        Attribute("""{"stringValue":"a","intValue":"1"}"""),
        Attribute("""{"stringValue":"a","string_value":"b"}"""),
        Attribute("""{"stringValue":null,"boolValue":true}"""),
        Attribute("""{"intValue":"+1"}"""),
        Attribute("""{"intValue":"01"}"""),
        Attribute("""{"intValue":"-01"}"""),
        Attribute("""{"intValue":" 1"}"""),
        Attribute("""{"intValue":1.5}"""),
        Attribute("""{"intValue":"1.5"}"""),
        Attribute("""{"intValue":"9223372036854775808"}"""),
        Attribute("""{"intValue":1e19}"""),
        Attribute("""{"intValue":true}"""),
        Attribute("""{"doubleValue":"nan"}"""),
        Attribute("""{"doubleValue":"1e400"}"""),
        Attribute("""{"doubleValue":1e400}"""),
        Attribute("""{"doubleValue":-1e400}"""),
        Traces("""{"unknown":[1e400]}"""),
        Attribute("""{"doubleValue":"inf"}"""),
        Attribute("""{"boolValue":1}"""),
        Attribute("""{"boolValue":"true"}"""),
        Attribute("""{"stringValue":1}"""),
        Attribute("""{"stringValue":true}"""),
        Attribute("""{"stringValue":{}}"""),
        Attribute("""{"arrayValue":"x"}"""),
        Attribute("""{"arrayValue":{"values":{}}}"""),
        Attribute("""{"arrayValue":{"values":[null]}}"""),
        Attribute("\"s\""),
        Attribute("[]"),
        Traces("""{"name":"a","name":"b"}"""),
        Traces("""{"unknown":1,"unknown":2}"""),
        Traces("""{"unknown":{"a":1,"a":2}}"""),
        Traces("""{"attributes":{}}"""),
        Traces("""{"kind":1.5}"""),
        Traces("""{"kind":[]}"""),
        Traces("""{"droppedAttributesCount":-1}"""),
        Traces("""{"droppedAttributesCount":4294967296}"""),
        Traces("""{"startTimeUnixNano":-1}"""),
        Traces("""{"startTimeUnixNano":"18446744073709551616"}"""),
        """{"resourceSpans":[null]}""",
        """{"resourceSpans":{}}""",
        """{"resourceSpans":"x"}""",
        Point("""{"bucketCounts":[null]}"""),
        Point("""{"bucketCounts":"1"}"""),
        Point("""{"explicitBounds":[[1]]}"""),
        Log("""{"severityNumber":1.5}"""),
        Log("""{"body":"text"}"""),
    ];

    [TestCaseSource(nameof(Accepted))]
    public void Unusual_valid_json_decodes_like_the_former_decoder(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var expected = LegacyOtlpJsonOracle.Parse<ExportTraceServiceRequest>(bytes);
        Assert.That(OtlpJson.Parse(bytes, ExportTraceServiceRequest.Parser), Is.EqualTo(expected));
        // The same bytes as the other signals' requests and a response: same agreement.
        AssertSameOutcome(bytes, ExportMetricsServiceRequest.Parser);
        AssertSameOutcome(bytes, ExportLogsServiceRequest.Parser);
        AssertSameOutcome(bytes, ExportTraceServiceResponse.Parser);
    }

    [TestCaseSource(nameof(Refused))]
    public void Malformed_json_is_refused_like_the_former_decoder(string json)
    {
        // Each case targets one signal's request; for the others it may be fine (unknown fields).
        var bytes = Encoding.UTF8.GetBytes(json);
        var parser = json.Contains("resourceMetrics", StringComparison.Ordinal) ? (MessageParser)ExportMetricsServiceRequest.Parser
            : json.Contains("resourceLogs", StringComparison.Ordinal) ? ExportLogsServiceRequest.Parser : ExportTraceServiceRequest.Parser;
        Assert.That(Refuses(() => LegacyParse(bytes, parser)), Is.True, "the former decoder refused it too");
        var e = Assert.Throws<InvalidDataException>(() => Parse(bytes, parser));
        Assert.That(e!.Message, Does.StartWith("invalid"));
        AssertSameOutcome(bytes, ExportTraceServiceRequest.Parser);
        AssertSameOutcome(bytes, ExportMetricsServiceRequest.Parser);
        AssertSameOutcome(bytes, ExportLogsServiceRequest.Parser);
    }

    private static IMessage Parse(byte[] bytes, MessageParser parser) => parser switch
    {
        MessageParser<ExportMetricsServiceRequest> metrics => OtlpJson.Parse(bytes, metrics),
        MessageParser<ExportLogsServiceRequest> logs => OtlpJson.Parse(bytes, logs),
        _ => OtlpJson.Parse(bytes, ExportTraceServiceRequest.Parser),
    };

    private static IMessage LegacyParse(byte[] bytes, MessageParser parser) => parser switch
    {
        MessageParser<ExportMetricsServiceRequest> => LegacyOtlpJsonOracle.Parse<ExportMetricsServiceRequest>(bytes),
        MessageParser<ExportLogsServiceRequest> => LegacyOtlpJsonOracle.Parse<ExportLogsServiceRequest>(bytes),
        _ => LegacyOtlpJsonOracle.Parse<ExportTraceServiceRequest>(bytes),
    };

    private static bool Refuses(Action parse)
    {
        try
        {
            parse();
            return false;
        }
        catch (Exception)
        {
            return true;
        }
    }

    /// <summary>Asserts the transcoder decodes or refuses as the former decoder did; true when accepted.</summary>
    private static bool AssertSameOutcome<T>(byte[] bytes, MessageParser<T> parser)
        where T : IMessage<T>, new()
    {
        T expected;
        try
        {
            expected = LegacyOtlpJsonOracle.Parse<T>(bytes);
        }
        catch (Exception)
        {
            Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(bytes, parser), $"{typeof(T).Name}: the former decoder refused {Encoding.UTF8.GetString(bytes)}");
            return false;
        }

        Assert.That(OtlpJson.Parse(bytes, parser), Is.EqualTo(expected), $"{typeof(T).Name}: {Encoding.UTF8.GetString(bytes)}");
        return true;
    }

    [Test]
    public void Randomly_mutated_requests_have_the_former_outcome()
    {
        // Proto names, aliases set twice, numbers as strings and back, nulls, wrong types, unknown
        // properties: whatever the former decoder did with each document, the transcoder must do.
        var random = new Random(5);
        var accepted = 0;
        for (var round = 0; round < 150; round++)
        {
            accepted += AssertSameOutcome(Mutate(OtlpJson.FormatUtf8(RandomMessages.Create<ExportTraceServiceRequest>(random)), random), ExportTraceServiceRequest.Parser) ? 1 : 0;
            accepted += AssertSameOutcome(Mutate(OtlpJson.FormatUtf8(RandomMessages.Create<ExportMetricsServiceRequest>(random)), random), ExportMetricsServiceRequest.Parser) ? 1 : 0;
            accepted += AssertSameOutcome(Mutate(OtlpJson.FormatUtf8(RandomMessages.Create<ExportLogsServiceRequest>(random)), random), ExportLogsServiceRequest.Parser) ? 1 : 0;
        }

        // Both outcomes are exercised in earnest.
        Assert.That(accepted, Is.InRange(100, 350));
    }

    private static byte[] Mutate(byte[] json, Random random)
    {
        var root = JsonNode.Parse(json)!;
        var mutations = random.Next(1, 4);
        for (var i = 0; i < mutations; i++)
        {
            MutateOne(root, random);
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static readonly Func<JsonNode?>[] Replacements =
    [
        () => null, () => true, () => 1.5, () => 7, () => -3, () => "x", () => "12", () => "NaN", () => "0102030405060708",
        () => new JsonArray(), () => new JsonObject(), () => new JsonArray(1, "2"), () => JsonNode.Parse("18446744073709551615"),
    ];

    private static void MutateOne(JsonNode root, Random random)
    {
        // A random object on a random path.
        var node = root;
        while (true)
        {
            var children = node switch
            {
                JsonObject o => o.Select(p => p.Value).Where(v => v is JsonObject or JsonArray).ToList(),
                JsonArray a => a.Where(v => v is JsonObject or JsonArray).ToList(),
                _ => [],
            };
            if (children.Count == 0 || random.Next(4) == 0)
            {
                break;
            }

            node = children[random.Next(children.Count)]!;
        }

        if (node is not JsonObject obj || obj.Count == 0)
        {
            return;
        }

        var (key, value) = obj.ElementAt(random.Next(obj.Count));
        var snake = string.Concat(key.Select(c => char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : c.ToString()));
        switch (random.Next(6))
        {
            case 0 when snake != key:
                obj.Remove(key);
                obj[snake] = value;
                break;
            case 1 when snake != key:
                obj[snake] = Replacements[random.Next(Replacements.Length)]();
                break;
            case 2 when value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String && System.Text.RegularExpressions.Regex.IsMatch(v.GetValue<string>(), @"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"):
                obj[key] = JsonNode.Parse(v.GetValue<string>());
                break;
            case 3 when value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number:
                obj[key] = v.ToJsonString();
                break;
            case 4:
                obj["unknown" + random.Next(3)] = random.Next(2) == 0 ? JsonNode.Parse("""{"traceId":"01","a":[1,{"b":null}]}""") : Replacements[random.Next(Replacements.Length)]();
                break;
            default:
                obj[key] = Replacements[random.Next(Replacements.Length)]();
                break;
        }
    }

    [Test]
    public void Every_truncation_of_a_request_is_refused_or_decodes_like_the_former_decoder()
    {
        var json = OtlpJson.FormatUtf8(RandomMessages.Create<ExportTraceServiceRequest>(new Random(3)));
        for (var length = 0; length < json.Length; length++)
        {
            var truncated = json.AsSpan(0, length).ToArray();
            Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(truncated, ExportTraceServiceRequest.Parser), $"truncated to {length}");
        }
    }

    [TestCase("[", "]")]
    [TestCase("{\"a\":", "}")]
    [TestCase("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":[", "]}}}]}}]}")]
    public void Ten_thousand_levels_of_nesting_are_refused_without_overflowing_the_stack(string open, string close)
    {
        var json = Encoding.UTF8.GetBytes("{\"unknown\":" + string.Concat(Enumerable.Repeat(open, 10_000)) + string.Concat(Enumerable.Repeat(close, 10_000)) + "}");
        Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(json, ExportTraceServiceRequest.Parser));
    }

    [Test]
    public void Nested_any_values_stop_at_the_protobuf_parsers_limit()
    {
        // A span attribute's value is message level 5; arrayValue adds 2 levels, kvlistValue 3. The
        // limit is OtlpLimits.MaxMessageDepth (100), Google.Protobuf's own: the former decoder took
        // 128 (61 arrays, 41 kvlists), and what lay past 100 was lost on spool replay.
        foreach (var levels in new[] { 10, 46, 47, 48, 61, 62, 80 })
        {
            var value = "{\"stringValue\":\"leaf\"}";
            for (var i = 0; i < levels; i++)
            {
                value = "{\"arrayValue\":{\"values\":[" + value + "]}}";
            }

            AssertAcceptedWithinTheLimit(Encoding.UTF8.GetBytes(Attribute(value)), accepted: 5 + (2 * levels) <= OtlpLimits.MaxMessageDepth, $"{levels} arrays");
        }

        foreach (var levels in new[] { 30, 31, 32, 41, 42 })
        {
            var value = "{\"boolValue\":true}";
            for (var i = 0; i < levels; i++)
            {
                value = "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":" + value + "}]}}";
            }

            AssertAcceptedWithinTheLimit(Encoding.UTF8.GetBytes(Attribute(value)), accepted: 5 + (3 * levels) <= OtlpLimits.MaxMessageDepth, $"{levels} kvlists");
        }
    }

    /// <summary>Within the limit: as the former decoder, and the result parses again with Google.Protobuf's defaults; beyond: refused as too deep.</summary>
    private static void AssertAcceptedWithinTheLimit(byte[] json, bool accepted, string what)
    {
        if (!accepted)
        {
            var error = Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(json, ExportTraceServiceRequest.Parser), what);
            Assert.That(error!.Message, Does.Contain("nested deeper than 100"));
            Assert.That(OtlpLimits.IsTooDeep(error!), Is.True, what);
            return;
        }

        Assert.That(AssertSameOutcome(json, ExportTraceServiceRequest.Parser), Is.True, what);
        var decoded = OtlpJson.Parse(json, ExportTraceServiceRequest.Parser);
        Assert.That(ExportTraceServiceRequest.Parser.ParseFrom(decoded.ToByteArray()), Is.EqualTo(decoded), what);
    }

    /// <summary>Edge cases where only agreement matters (accepted alike, or refused alike).</summary>
    private static readonly string[] Either =
    [
        Traces("""{"name":"a","na\u006de":"b"}"""),
        Traces("""{"unknown":1,"unkn\u006fwn":2}"""),
        "\uFEFF" + Traces(Span),
        Traces("""{"spanId":"\u0030\u0031\u0030\u0032\u0030\u0033\u0030\u0034\u0030\u0035\u0030\u0036\u0030\u0037\u0030\u0038"}"""),
        Traces("""{"spanId":"  "}"""),
        Traces("""{"droppedAttributesCount":1.0,"droppedEventsCount":-0,"droppedLinksCount":0.5e1}"""),
        Traces("""{"droppedAttributesCount":"4294967295","droppedEventsCount":"-0","droppedLinksCount":"1.0"}"""),
        Traces("""{"droppedAttributesCount":"1e-1"}"""),
        Traces("""{"droppedAttributesCount":"0x10"}"""),
        Traces("""{"droppedAttributesCount":""}"""),
        Traces("""{"startTimeUnixNano":"18446744073709551615","endTimeUnixNano":18446744073709551615}"""),
        Traces("""{"startTimeUnixNano":100000000000000000000}"""),
        Traces("""{"startTimeUnixNano":1.8e19}"""),
        Traces("""{"startTimeUnixNano":-9007199254740993}"""),
        Traces("""{"unknown":123456789012345678901234567890}"""),
        Traces("""{"unknown":"\ud800"}"""),
        Traces("""{"name":"\ud83d\ude00"}"""),
        Attribute("""{"doubleValue":"-0"}"""),
        Attribute("""{"doubleValue":"1E5"}"""),
        Attribute("""{"doubleValue":" 1"}"""),
        Attribute("""{"doubleValue":"-NaN"}"""),
        Attribute("""{"intValue":"-9223372036854775808"}"""),
        Attribute("""{"intValue":"1e18"}"""),
        Attribute("""{"intValue":1e18}"""),
        Attribute("""{"bytesValue":"AQ ID"}"""),
        Attribute("""{"bytesValue":"AQ"}"""),
        Attribute("""{"bytesValue":"-_8="}"""),
        Attribute("""{"bytesValue":12345678901234567890}"""),
        Attribute("""{"kvlistValue":null,"arrayValue":{}}"""),
        Log("""{"severityNumber":"SEVERITY_NUMBER_NOPE"}"""),
        Log("""{"severityNumber":"9"}"""),
        Log("""{"severityNumber":2147483648}"""),
        Log("""{"severityNumber":-1}"""),
        Log("""{"flags":-1}"""),
        Log("""{"traceId":"0102030405060708090a0b0c0d0e0f10","trace_id":null}"""),
        Log("""{"trace_id":null,"traceId":"0102030405060708090a0b0c0d0e0f10"}"""),
        Log("""{"body":{"stringValue":"a"},"body":null}"""),
    ];

    [TestCaseSource(nameof(Either))]
    public void Edge_cases_have_the_former_outcome(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        AssertSameOutcome(bytes, ExportTraceServiceRequest.Parser);
        AssertSameOutcome(bytes, ExportMetricsServiceRequest.Parser);
        AssertSameOutcome(bytes, ExportLogsServiceRequest.Parser);
    }

    [Test]
    public void Invalid_utf8_and_lone_surrogates_are_invalid_data()
    {
        var invalidUtf8 = Encoding.UTF8.GetBytes(Traces("""{"name":"ab"}""")).Select(b => b == (byte)'a' ? (byte)0xC3 : b).ToArray();
        Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(invalidUtf8, ExportTraceServiceRequest.Parser));
        Assert.That(Refuses(() => LegacyOtlpJsonOracle.Parse<ExportTraceServiceRequest>(invalidUtf8)), Is.True, "former: refused");
        var unknownUtf8 = Encoding.UTF8.GetBytes(Traces("""{"unknown":"ab"}""")).Select(b => b == (byte)'a' ? (byte)0xC3 : b).ToArray();
        Assert.That(Refuses(() => LegacyOtlpJsonOracle.Parse<ExportTraceServiceRequest>(unknownUtf8)), Is.True, "former: refused in unknown");
        Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(unknownUtf8, ExportTraceServiceRequest.Parser));
        var surrogate = Encoding.UTF8.GetBytes(Traces("""{"name":"\ud800"}"""));
        Assert.That(Refuses(() => LegacyOtlpJsonOracle.Parse<ExportTraceServiceRequest>(surrogate)), Is.True, "former: surrogate refused");
        Assert.Throws<InvalidDataException>(() => OtlpJson.Parse(surrogate, ExportTraceServiceRequest.Parser));
    }
}
