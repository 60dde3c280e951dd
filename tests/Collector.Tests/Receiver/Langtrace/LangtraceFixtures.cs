using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>
/// Request bodies in the shapes Langtrace SDKs post to /api/trace, written from their exporters:
/// langtrace-python-sdk extensions/langtrace_exporter.py (extra fields + <c>span.to_json()</c> of the
/// OpenTelemetry Python SDK), langtrace-typescript-sdk extensions/langtraceexporter/langtrace_exporter.ts
/// (a ReadableSpan serialised by JSON.stringify), and OTLP/JSON and OTLP protobuf as the OTel
/// exporters of the newer Python SDK send them.
/// </summary>
internal static class LangtraceFixtures
{
    public const string PythonUserAgent = "python-requests/2.31.0";
    public const string TypeScriptUserAgent = "LangTraceExporter";

    /// <summary>Legacy Python: a chat call under a failed request handler.</summary>
    public const string Python = """
        [
          {
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "instrumentationLibrary": "InstrumentationInfo(langtrace_python_sdk.instrumentation.openai, 2.1.0, None)",
            "droppedEventsCount": 0,
            "droppedAttributesCount": 0,
            "droppedLinksCount": 0,
            "ended": true,
            "name": "openai.chat.completions.create",
            "context": { "trace_id": "0x4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "0x00f067aa0ba902b7", "trace_state": "['{key=vendor, value=abc}']" },
            "kind": "SpanKind.CLIENT",
            "parent_id": "0x53995c3f42cd8ad8",
            "start_time": "2024-05-01T12:00:00.123456Z",
            "end_time": "2024-05-01T12:00:01.654321Z",
            "status": { "status_code": "OK" },
            "attributes": {
              "langtrace.sdk.name": "langtrace-python-sdk",
              "langtrace.service.name": "OpenAI",
              "langtrace.service.type": "llm",
              "langtrace.service.version": "1.30.0",
              "langtrace.version": "2.1.0",
              "url.full": "https://api.openai.com/v1/",
              "llm.api": "/chat/completions",
              "gen_ai.system": "openai",
              "gen_ai.request.model": "gpt-4o",
              "gen_ai.response.model": "gpt-4o-2024-05-13",
              "gen_ai.request.temperature": 0.7,
              "gen_ai.request.stream": false,
              "gen_ai.usage.input_tokens": 25,
              "gen_ai.usage.output_tokens": 12,
              "gen_ai.usage.total_tokens": 37,
              "gen_ai.request.stop_sequences": ["\n", "END"]
            },
            "events": [
              { "name": "gen_ai.content.prompt", "timestamp": "2024-05-01T12:00:00.200000Z", "attributes": { "gen_ai.prompt": "[{\"role\": \"user\", \"content\": \"Say hi\"}]" } },
              { "name": "gen_ai.content.completion", "timestamp": "2024-05-01T12:00:01.600000Z", "attributes": { "gen_ai.completion": "[{\"role\": \"assistant\", \"content\": \"Hi!\"}]" } }
            ],
            "links": [],
            "resource": { "attributes": { "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry", "service.name": "chat-app" }, "schema_url": "" }
          },
          {
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "instrumentationLibrary": "InstrumentationInfo(app, None, None)",
            "droppedEventsCount": 0,
            "droppedAttributesCount": 0,
            "droppedLinksCount": 0,
            "ended": false,
            "name": "handle_request",
            "context": { "trace_id": "0x4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "0x53995c3f42cd8ad8", "trace_state": "[]" },
            "kind": "SpanKind.SERVER",
            "parent_id": null,
            "start_time": "2024-05-01T11:59:59.900000Z",
            "end_time": "2024-05-01T12:00:02.000000Z",
            "status": { "status_code": "ERROR", "description": "upstream timeout" },
            "attributes": { "user_id": "u-17", "http.response.status_code": 504, "retry.ratio": 0.5 },
            "events": [ { "name": "exception", "timestamp": "2024-05-01T12:00:01.999000Z", "attributes": { "exception.type": "TimeoutError", "exception.escaped": true } } ],
            "links": [ { "context": { "trace_id": "0x0af7651916cd43dd8448eb211c80319c", "span_id": "0xb7ad6b7169203331", "trace_state": "[]" }, "attributes": { "link.kind": "batch" } } ],
            "resource": { "attributes": { "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry", "service.name": "chat-app" }, "schema_url": "" }
          }
        ]
        """;

    /// <summary>TypeScript: [seconds, nanoseconds] times, JS kinds (CLIENT = 2, SERVER = 1), the Resource class's fields.</summary>
    public const string TypeScript = """
        [
          {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "traceState": "vendor=ts",
            "name": "openai.chat.completions.create",
            "startTime": [1714564800, 123456789],
            "endTime": [1714564801, 500000000],
            "attributes": {
              "langtrace.service.name": "OpenAI",
              "langtrace.service.type": "llm",
              "gen_ai.system": "openai",
              "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.usage.input_tokens": 40,
              "gen_ai.usage.output_tokens": 8,
              "gen_ai.request.temperature": 0.2,
              "gen_ai.request.top_k": 5,
              "gen_ai.request.stream": true,
              "gen_ai.request.tools": ["search", "calc"]
            },
            "kind": 2,
            "status": { "code": 1 },
            "events": [
              { "name": "gen_ai.content.prompt", "attributes": { "gen_ai.prompt": "[{\"role\":\"user\",\"content\":\"hello\"}]" }, "time": [1714564800, 200000000], "droppedAttributesCount": 0 },
              { "name": "stream.chunk", "time": [1714564801, 100000000], "droppedAttributesCount": 0 }
            ],
            "resource": {
              "_attributes": { "service.name": "ts-app", "telemetry.sdk.language": "nodejs" },
              "asyncAttributesPending": false,
              "_syncAttributes": { "service.name": "ts-app", "telemetry.sdk.language": "nodejs" }
            },
            "links": [],
            "parentSpanId": "eee19b7ec3c1b173",
            "instrumentationLibrary": { "name": "@langtrase/typescript-sdk", "version": "5.3.2" },
            "duration": [1, 376543211],
            "droppedEventsCount": 0,
            "droppedAttributesCount": 0,
            "droppedLinksCount": 0,
            "ended": true
          },
          {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b173",
            "name": "POST /chat",
            "startTime": [1714564799, 999000000],
            "endTime": [1714564801, 600000000],
            "attributes": { "http.request.method": "POST" },
            "kind": 1,
            "status": { "code": 2, "message": "boom" },
            "events": [],
            "resource": {
              "_attributes": { "service.name": "ts-app", "telemetry.sdk.language": "nodejs" },
              "asyncAttributesPending": false,
              "_syncAttributes": { "service.name": "ts-app", "telemetry.sdk.language": "nodejs" }
            },
            "links": [],
            "instrumentationLibrary": { "name": "http-server" },
            "duration": [1, 601000000],
            "droppedEventsCount": 0,
            "droppedAttributesCount": 0,
            "droppedLinksCount": 0,
            "ended": true
          }
        ]
        """;

    /// <summary>OTLP/JSON as an OTel exporter posts it (hex ids, decimal-string times and ints).</summary>
    public const string OtlpJson = """
        {
          "resourceSpans": [{
            "resource": { "attributes": [ { "key": "service.name", "value": { "stringValue": "otlp-app" } } ] },
            "scopeSpans": [{
              "scope": { "name": "opentelemetry.instrumentation.openai", "version": "0.40.0" },
              "spans": [{
                "traceId": "0af7651916cd43dd8448eb211c80319c",
                "spanId": "b7ad6b7169203331",
                "parentSpanId": "00f067aa0ba902b7",
                "name": "chat gpt-4o",
                "kind": 3,
                "startTimeUnixNano": "1714564800000000000",
                "endTimeUnixNano": "1714564801000000000",
                "attributes": [
                  { "key": "gen_ai.operation.name", "value": { "stringValue": "chat" } },
                  { "key": "gen_ai.provider.name", "value": { "stringValue": "openai" } },
                  { "key": "gen_ai.request.model", "value": { "stringValue": "gpt-4o" } },
                  { "key": "gen_ai.usage.input_tokens", "value": { "intValue": "11" } },
                  { "key": "gen_ai.usage.output_tokens", "value": { "intValue": "22" } },
                  { "key": "gen_ai.request.temperature", "value": { "doubleValue": 0.3 } },
                  { "key": "gen_ai.request.stop_sequences", "value": { "arrayValue": { "values": [ { "stringValue": "." } ] } } }
                ],
                "events": [ { "timeUnixNano": "1714564800500000000", "name": "gen_ai.choice" } ],
                "status": { "code": 1 }
              }]
            }]
          }]
        }
        """;

    /// <summary>The same kind of request as OTLP protobuf.</summary>
    public static byte[] OtlpProtobuf()
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Convert.FromHexString("11112222333344445555666677778888")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString("aaaabbbbccccdddd")),
            Name = "embeddings text-embedding-3-small",
            Kind = Span.Types.SpanKind.Client,
            StartTimeUnixNano = 1_714_564_800_000_000_000,
            EndTimeUnixNano = 1_714_564_800_250_000_000,
            Status = new Status { Code = Status.Types.StatusCode.Ok },
        };
        span.Attributes.Add(new KeyValue { Key = "gen_ai.operation.name", Value = new AnyValue { StringValue = "embeddings" } });
        span.Attributes.Add(new KeyValue { Key = "gen_ai.system", Value = new AnyValue { StringValue = "openai" } });
        span.Attributes.Add(new KeyValue { Key = "gen_ai.request.model", Value = new AnyValue { StringValue = "text-embedding-3-small" } });
        span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = 9 } });
        span.Attributes.Add(new KeyValue { Key = "gen_ai.request.encoding_formats", Value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = "float" } } } } });
        var resource = new ResourceSpans { Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "proto-app" } } } } };
        resource.ScopeSpans.Add(new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai" }, Spans = { span } });
        return new ExportTraceServiceRequest { ResourceSpans = { resource } }.ToByteArray();
    }
}
