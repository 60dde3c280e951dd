using System.Net;
using System.Text;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Receiver;

/// <summary>Hand-written OTLP/JSON in the style of the specification's examples, sent over HTTP and checked field by field.</summary>
public sealed class OtlpJsonExamplesTests
{
    private const string TraceJson = """
        {
          "resourceSpans": [{
            "resource": {
              "attributes": [{ "key": "service.name", "value": { "stringValue": "my.service" } }],
              "droppedAttributesCount": 1
            },
            "scopeSpans": [{
              "scope": { "name": "my.library", "version": "1.0.0",
                "attributes": [{ "key": "my.scope.attribute", "value": { "stringValue": "some scope attribute" } }] },
              "spans": [{
                "traceId": "5B8EFFF798038103D269B633813FC60C",
                "spanId": "EEE19B7EC3C1B174",
                "parentSpanId": "eee19b7ec3c1b173",
                "traceState": "vendor=value",
                "flags": 257,
                "name": "I'm a server span",
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": "1544712661000000000",
                "kind": 2,
                "attributes": [
                  { "key": "my.span.attr", "value": { "stringValue": "some value" } },
                  { "key": "gen_ai.usage.input_tokens", "value": { "intValue": "9007199254740993" } },
                  { "key": "small.int", "value": { "intValue": 7 } },
                  { "key": "ratio", "value": { "doubleValue": 0.25 } },
                  { "key": "ok", "value": { "boolValue": true } },
                  { "key": "raw", "value": { "bytesValue": "AQID" } },
                  { "key": "tags", "value": { "arrayValue": { "values": [{ "stringValue": "a" }, { "intValue": "2" }] } } },
                  { "key": "nested", "value": { "kvlistValue": { "values": [
                      { "key": "inner", "value": { "kvlistValue": { "values": [{ "key": "deep", "value": { "boolValue": false } }] } } }
                  ] } } }
                ],
                "events": [{ "timeUnixNano": "1544712660500000000", "name": "gen_ai.choice",
                             "attributes": [{ "key": "index", "value": { "intValue": "0" } }] }],
                "links": [{ "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "1112131415161718", "attributes": [] }],
                "status": { "code": 2, "message": "boom" },
                "someFutureField": { "anything": [1, 2, 3] }
              }]
            }],
            "schemaUrl": "https://opentelemetry.io/schemas/1.26.0"
          }],
          "unknownTopLevel": "ignored"
        }
        """;

    private const string MetricsJson = """
        {
          "resourceMetrics": [{
            "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "my.service" } }] },
            "scopeMetrics": [{
              "scope": { "name": "my.library" },
              "metrics": [
                { "name": "my.counter", "unit": "1", "description": "I am a Counter",
                  "sum": { "aggregationTemporality": 1, "isMonotonic": true,
                    "dataPoints": [{ "asDouble": 5, "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                                     "attributes": [{ "key": "my.counter.attr", "value": { "stringValue": "some value" } }] }] } },
                { "name": "my.gauge", "gauge": { "dataPoints": [{ "asInt": "-42", "timeUnixNano": "1544712660300000000" }] } },
                { "name": "my.histogram", "unit": "1",
                  "histogram": { "aggregationTemporality": 2,
                    "dataPoints": [{ "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                                     "count": "3", "sum": 3, "bucketCounts": ["1", "1", "1"], "explicitBounds": [1, 2],
                                     "min": 0, "max": 2,
                                     "exemplars": [{ "timeUnixNano": "1544712660300000000", "asDouble": 1.5,
                                                     "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174" }] }] } }
              ]
            }]
          }]
        }
        """;

    private const string LogsJson = """
        {
          "resourceLogs": [{
            "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "my.service" } }] },
            "scopeLogs": [{
              "scope": { "name": "my.library", "version": "1.0.0" },
              "logRecords": [{
                "timeUnixNano": "1544712660300000000",
                "observedTimeUnixNano": "1544712660300000001",
                "severityNumber": 10,
                "severityText": "Information",
                "traceId": "5B8EFFF798038103D269B633813FC60C",
                "spanId": "EEE19B7EC3C1B174",
                "eventName": "gen_ai.user.message",
                "body": { "stringValue": "Example log record" },
                "attributes": [
                  { "key": "string.attribute", "value": { "stringValue": "some string" } },
                  { "key": "int.attribute", "value": { "intValue": "10" } },
                  { "key": "map.attribute", "value": { "kvlistValue": { "values": [{ "key": "some.map.key", "value": { "stringValue": "some value" } }] } } }
                ],
                "flags": 1,
                "newerField": true
              }]
            }]
          }]
        }
        """;

    [Test]
    public async Task Spec_style_trace_json_decodes_exactly()
    {
        await using var h = await ReceiverHarness.StartAsync();

        using var reply = await h.PostAsync("/v1/traces", Encoding.UTF8.GetBytes(TraceJson), "application/json");

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK), await reply.Content.ReadAsStringAsync());
        var resource = h.Traces.Batches.Single().Resources.Single();
        Assert.That(resource.Resource.Attributes.Single().Value.StringValue, Is.EqualTo("my.service"));
        Assert.That(resource.Resource.DroppedAttributesCount, Is.EqualTo(1));
        Assert.That(resource.SchemaUrl, Is.EqualTo("https://opentelemetry.io/schemas/1.26.0"));
        var scope = resource.ScopeSpans.Single();
        Assert.That(scope.Scope.Name, Is.EqualTo("my.library"));
        Assert.That(scope.Scope.Version, Is.EqualTo("1.0.0"));
        Assert.That(scope.Scope.Attributes.Single().Key, Is.EqualTo("my.scope.attribute"));

        var span = scope.Spans.Single();
        Assert.That(span.TraceId.ToByteArray(), Is.EqualTo(Convert.FromHexString("5b8efff798038103d269b633813fc60c")));
        Assert.That(span.SpanId.ToByteArray(), Is.EqualTo(Convert.FromHexString("eee19b7ec3c1b174")));
        Assert.That(span.ParentSpanId.ToByteArray(), Is.EqualTo(Convert.FromHexString("eee19b7ec3c1b173")));
        Assert.That(span.TraceState, Is.EqualTo("vendor=value"));
        Assert.That(span.Flags, Is.EqualTo(257));
        Assert.That(span.Name, Is.EqualTo("I'm a server span"));
        Assert.That(span.StartTimeUnixNano, Is.EqualTo(1544712660000000000UL));
        Assert.That(span.EndTimeUnixNano, Is.EqualTo(1544712661000000000UL));
        Assert.That(span.Kind, Is.EqualTo(Span.Types.SpanKind.Server));
        Assert.That(span.Status.Code, Is.EqualTo(Status.Types.StatusCode.Error));
        Assert.That(span.Status.Message, Is.EqualTo("boom"));

        var attributes = span.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.That(attributes["my.span.attr"].StringValue, Is.EqualTo("some value"));
        Assert.That(attributes["gen_ai.usage.input_tokens"].IntValue, Is.EqualTo(9007199254740993L), "int64 as string keeps every digit");
        Assert.That(attributes["small.int"].IntValue, Is.EqualTo(7));
        Assert.That(attributes["ratio"].DoubleValue, Is.EqualTo(0.25));
        Assert.That(attributes["ok"].BoolValue, Is.True);
        Assert.That(attributes["raw"].BytesValue.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3 }), "bytesValue stays base64");
        var tags = attributes["tags"].ArrayValue.Values;
        Assert.That(tags[0].StringValue, Is.EqualTo("a"));
        Assert.That(tags[1].IntValue, Is.EqualTo(2));
        var inner = attributes["nested"].KvlistValue.Values.Single();
        Assert.That(inner.Key, Is.EqualTo("inner"));
        Assert.That(inner.Value.KvlistValue.Values.Single().Key, Is.EqualTo("deep"));
        Assert.That(inner.Value.KvlistValue.Values.Single().Value.ValueCase, Is.EqualTo(AnyValue.ValueOneofCase.BoolValue));

        var spanEvent = span.Events.Single();
        Assert.That(spanEvent.Name, Is.EqualTo("gen_ai.choice"));
        Assert.That(spanEvent.TimeUnixNano, Is.EqualTo(1544712660500000000UL));
        Assert.That(spanEvent.Attributes.Single().Value.IntValue, Is.Zero);
        var link = span.Links.Single();
        Assert.That(link.TraceId.ToByteArray(), Is.EqualTo(Convert.FromHexString("0102030405060708090a0b0c0d0e0f10")));
        Assert.That(link.SpanId.ToByteArray(), Is.EqualTo(Convert.FromHexString("1112131415161718")));
    }

    [Test]
    public async Task Spec_style_metrics_json_decodes_exactly()
    {
        await using var h = await ReceiverHarness.StartAsync();

        using var reply = await h.PostAsync("/v1/metrics", Encoding.UTF8.GetBytes(MetricsJson), "application/json");

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK), await reply.Content.ReadAsStringAsync());
        var batch = h.MetricPoints.Batches.Single();
        Assert.That(batch.ItemCount, Is.EqualTo(3));
        var metrics = batch.Resources.Single().ScopeMetrics.Single().Metrics;

        var sum = metrics[0].Sum;
        Assert.That(metrics[0].Name, Is.EqualTo("my.counter"));
        Assert.That(metrics[0].Description, Is.EqualTo("I am a Counter"));
        Assert.That(sum.AggregationTemporality, Is.EqualTo(AggregationTemporality.Delta));
        Assert.That(sum.IsMonotonic, Is.True);
        Assert.That(sum.DataPoints.Single().AsDouble, Is.EqualTo(5.0));
        Assert.That(sum.DataPoints.Single().StartTimeUnixNano, Is.EqualTo(1544712660300000000UL));
        Assert.That(sum.DataPoints.Single().Attributes.Single().Value.StringValue, Is.EqualTo("some value"));

        Assert.That(metrics[1].Gauge.DataPoints.Single().AsInt, Is.EqualTo(-42));

        var histogram = metrics[2].Histogram;
        var point = histogram.DataPoints.Single();
        Assert.That(histogram.AggregationTemporality, Is.EqualTo(AggregationTemporality.Cumulative));
        Assert.That(point.Count, Is.EqualTo(3UL));
        Assert.That(point.Sum, Is.EqualTo(3.0));
        Assert.That(point.BucketCounts, Is.EqualTo(new ulong[] { 1, 1, 1 }));
        Assert.That(point.ExplicitBounds, Is.EqualTo(new double[] { 1, 2 }));
        Assert.That(point.Min, Is.EqualTo(0.0));
        Assert.That(point.Max, Is.EqualTo(2.0));
        var exemplar = point.Exemplars.Single();
        Assert.That(exemplar.AsDouble, Is.EqualTo(1.5));
        Assert.That(exemplar.TraceId.ToByteArray(), Is.EqualTo(Convert.FromHexString("5b8efff798038103d269b633813fc60c")));
        Assert.That(exemplar.SpanId.ToByteArray(), Is.EqualTo(Convert.FromHexString("eee19b7ec3c1b174")));
    }

    [Test]
    public async Task Spec_style_logs_json_decodes_exactly()
    {
        await using var h = await ReceiverHarness.StartAsync();

        using var reply = await h.PostAsync("/v1/logs", Encoding.UTF8.GetBytes(LogsJson), "application/json");

        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK), await reply.Content.ReadAsStringAsync());
        var record = h.LogRecords.Batches.Single().Resources.Single().ScopeLogs.Single().LogRecords.Single();
        Assert.That(record.TimeUnixNano, Is.EqualTo(1544712660300000000UL));
        Assert.That(record.ObservedTimeUnixNano, Is.EqualTo(1544712660300000001UL));
        Assert.That(record.SeverityNumber, Is.EqualTo(SeverityNumber.Info2));
        Assert.That(record.SeverityText, Is.EqualTo("Information"));
        Assert.That(record.TraceId.ToByteArray(), Is.EqualTo(Convert.FromHexString("5b8efff798038103d269b633813fc60c")));
        Assert.That(record.SpanId.ToByteArray(), Is.EqualTo(Convert.FromHexString("eee19b7ec3c1b174")));
        Assert.That(record.EventName, Is.EqualTo("gen_ai.user.message"));
        Assert.That(record.Body.StringValue, Is.EqualTo("Example log record"));
        Assert.That(record.Flags, Is.EqualTo(1));
        Assert.That(record.Attributes[1].Value.IntValue, Is.EqualTo(10));
        Assert.That(record.Attributes[2].Value.KvlistValue.Values.Single().Value.StringValue, Is.EqualTo("some value"));
    }

    [Test]
    public void Large_64_bit_integers_sent_as_json_numbers_keep_every_digit()
    {
        // Not conformant (the spec asks for strings), but some encoders emit numbers; a double would round these.
        const string json = """
            {"resourceSpans":[{"scopeSpans":[{"spans":[{
              "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
              "startTimeUnixNano":1700000000123456789,
              "attributes":[{"key":"n","value":{"intValue":9007199254740993}},{"key":"d","value":{"doubleValue":1e3}}]}]}]}]}
            """;

        var request = OtlpJson.Parse(Encoding.UTF8.GetBytes(json), ExportTraceServiceRequest.Parser);

        var span = request.ResourceSpans[0].ScopeSpans[0].Spans[0];
        Assert.That(span.StartTimeUnixNano, Is.EqualTo(1700000000123456789UL));
        Assert.That(span.Attributes[0].Value.IntValue, Is.EqualTo(9007199254740993L));
        Assert.That(span.Attributes[1].Value.DoubleValue, Is.EqualTo(1000.0));
    }

    [Test]
    public void Formatting_writes_hex_ids_and_decimal_string_int64()
    {
        var request = OtlpSamples.Traces(1);

        var json = OtlpJson.Format(request);

        Assert.That(json, Does.Contain("\"traceId\":\"5b8efff798038103d269b633813fc60c\""));
        Assert.That(json, Does.Contain("\"startTimeUnixNano\":\"1700000000000000000\""));
        Assert.That(json, Does.Contain("\"kind\":3"));
        Assert.That(OtlpJson.Parse(Encoding.UTF8.GetBytes(json), ExportTraceServiceRequest.Parser), Is.EqualTo(request));
    }
}
