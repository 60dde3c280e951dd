using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.LangtraceInterop.StandIn;

/// <summary>One POST as the stand-in saw it, and what it answered.</summary>
internal sealed record StandInRequest(
    string? ContentType, string? ContentEncoding, string? UserAgent, string? ApiKey, byte[] Body, int Status);

/// <summary>An event of a stored span: name, ISO time and the attributes the server kept.</summary>
internal sealed record StoredEvent(string? Name, string? Time, IReadOnlyDictionary<string, JsonNode?> Attributes);

/// <summary>
/// A span as Langtrace would store it: the row <c>prepareForClickhouse</c> builds (lib/utils.ts).
/// <see cref="Attributes"/> holds only what the server kept (on the OTLP branch: string and int values).
/// </summary>
internal sealed record StoredSpan(
    string Project,
    string? Name,
    string? TraceId,
    string? SpanId,
    string? ParentId,
    int? Kind,
    string? StartTime,
    string? EndTime,
    string StatusCode,
    IReadOnlyDictionary<string, JsonNode?> Attributes,
    IReadOnlyList<StoredEvent> Events,
    JsonNode? Links)
{
    public string? Text(string key) => Attributes.TryGetValue(key, out var v) ? v?.ToString() : null;
}

/// <summary>
/// A stand-in for Langtrace's <c>POST /api/trace</c> (Scale3-Labs/langtrace app/api/trace/route.ts
/// and the lib/utils.ts helpers it calls), parsing requests the way that server does so that tests
/// see what Langtrace users would see:
/// <list type="bullet">
/// <item>body: protobuf only when Content-Type is exactly "application/x-protobuf" (decoded, then turned into
/// JSON as protobufjs' toJSON would: base64 ids, enum names, 64-bit integers as strings, empty fields left
/// out), anything else parsed as JSON (route.ts POST, decodeProtobuf);</item>
/// <item>x-api-key: missing 400 {"error":"api key is required"}, unknown 401 {"error":"Unauthorized. Invalid API key"}
/// (authApiKey), checked after the body was parsed, as route.ts does;</item>
/// <item>User-Agent containing "otel-otlp" or "opentelemetry" (any case): only
/// <c>resourceSpans[0].scopeSpans[0].spans</c> is read (normalizeOTELData), attribute values kept only
/// when stringValue or intValue, event attributes read with forEach and event times converted with
/// BigInt, so an event without <c>attributes</c> or <c>timeUnixNano</c> fails the request; times kept to
/// the millisecond; status from status.code; kind through parseInt;</item>
/// <item>any other User-Agent: the body must be a legacy array of spans, kept as sent (normalizeData);</item>
/// <item>every failure after auth is the catch-all 404 {"error":"Something went wrong while ingesting traces"};
/// success 200 {"message":"Traces added successfully"}.</item>
/// </list>
/// Test hooks: <see cref="Enqueue"/> makes the infrastructure in front of the route answer a status
/// (a gateway's 429 / 503); <see cref="FailIngestionWhen"/> makes the store fail for matching spans
/// (ClickHouse refusing a row), which the route answers with its catch-all 404.
/// </summary>
internal sealed class LangtraceStandIn : IAsyncDisposable
{
    private static readonly JsonFormatter ProtobufJsToJson = new(JsonFormatter.Settings.Default);
    private readonly IReadOnlyDictionary<string, string> _projectsByKey;
    private readonly ConcurrentQueue<(int Status, string? RetryAfter)> _faults = new();
    private readonly Lock _storeLock = new();
    private readonly List<StoredSpan> _stored = [];
    private WebApplication? _app;

    private LangtraceStandIn(IReadOnlyDictionary<string, string> projectsByKey) => _projectsByKey = projectsByKey;

    public ConcurrentQueue<StandInRequest> Requests { get; } = new();

    /// <summary>Spans stored; a request is stored whole or not at all, as one ClickHouse insert.</summary>
    public IReadOnlyList<StoredSpan> Stored
    {
        get
        {
            lock (_storeLock)
            {
                return [.. _stored];
            }
        }
    }

    /// <summary>When set, a request holding a span this matches fails in the store (answered 404).</summary>
    public Func<StoredSpan, bool>? FailIngestionWhen { get; set; }

    /// <summary>http://127.0.0.1:port/api/trace</summary>
    public string Url { get; private set; } = string.Empty;

    /// <param name="projectsByKey">API key to project id; a key not listed is answered 401.</param>
    public static async Task<LangtraceStandIn> StartAsync(IReadOnlyDictionary<string, string> projectsByKey)
    {
        var standIn = new LangtraceStandIn(projectsByKey);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/api/trace", standIn.HandleAsync);
        await app.StartAsync();
        standIn._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        standIn.Url = address.TrimEnd('/') + "/api/trace";
        return standIn;
    }

    public void Enqueue(int status, int times = 1, string? retryAfter = null)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue((status, retryAfter));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var raw = new MemoryStream();
        await request.Body.CopyToAsync(raw, context.RequestAborted);
        var body = raw.ToArray();
        var (status, payload) = _faults.TryDequeue(out var fault) ? (fault.Status, "{}") : Route(request, body);
        if (fault.RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = fault.RetryAfter;
        }

        Requests.Enqueue(new StandInRequest(
            request.Headers.ContentType.ToString(), request.Headers.ContentEncoding.FirstOrDefault(), request.Headers.UserAgent.ToString(),
            request.Headers["x-api-key"].FirstOrDefault(), body, status));
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(payload, context.RequestAborted);
    }

    /// <summary>route.ts POST.</summary>
    private (int Status, string Body) Route(HttpRequest request, byte[] body)
    {
        try
        {
            var data = request.Headers.ContentType.ToString() == "application/x-protobuf"
                ? DecodeProtobuf(body)
                : JsonNode.Parse(body);
            var apiKey = request.Headers["x-api-key"].FirstOrDefault();
            if (string.IsNullOrEmpty(apiKey))
            {
                return (400, """{"error":"api key is required"}""");
            }

            if (!_projectsByKey.TryGetValue(apiKey, out var project))
            {
                return (401, """{"error":"Unauthorized. Invalid API key"}""");
            }

            var userAgent = request.Headers.UserAgent.ToString().ToLowerInvariant();
            var spans = userAgent.Contains("otel-otlp", StringComparison.Ordinal) || userAgent.Contains("opentelemetry", StringComparison.Ordinal)
                ? NormalizeOtel(project, data?["resourceSpans"]?[0]?["scopeSpans"]?[0]?["spans"])
                : NormalizeLegacy(project, data);
            lock (_storeLock)
            {
                if (FailIngestionWhen is { } fail && spans.Any(fail))
                {
                    throw new InvalidOperationException("insert failed");
                }

                _stored.AddRange(spans);
            }

            return (200, """{"message":"Traces added successfully"}""");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or InvalidProtocolBufferException
            or ArgumentException or KeyNotFoundException or OverflowException or NullReferenceException)
        {
            return (404, """{"error":"Something went wrong while ingesting traces"}""");
        }
    }

    /// <summary>decodeProtobuf: TracesData, then JSON.parse(JSON.stringify(message)) with protobufjs' toJSON conventions.</summary>
    private static JsonNode? DecodeProtobuf(byte[] body) =>
        JsonNode.Parse(ProtobufJsToJson.Format(ExportTraceServiceRequest.Parser.ParseFrom(body)));

    /// <summary>normalizeOTELData + prepareForClickhouse. A missing spans list throws (inputData.map of undefined).</summary>
    private static List<StoredSpan> NormalizeOtel(string project, JsonNode? spans)
    {
        var list = spans as JsonArray ?? throw new InvalidOperationException("inputData.map is not a function");
        var result = new List<StoredSpan>();
        foreach (var span in list)
        {
            var s = span!.AsObject();
            var start = NanosToIso(s["startTimeUnixNano"]);
            var end = NanosToIso(s["endTimeUnixNano"]);
            var attributes = KeptAttributes(s["attributes"], optional: true);
            var events = new List<StoredEvent>();
            if (s["events"] is JsonArray eventList)
            {
                foreach (var e in eventList)
                {
                    // event.attributes.forEach(...) and BigInt(event.timeUnixNano): both throw when missing.
                    var eventAttributes = KeptAttributes(e!["attributes"], optional: false);
                    events.Add(new StoredEvent(e["name"]?.ToString(), NanosToIso(e["timeUnixNano"]), eventAttributes));
                }
            }

            result.Add(new StoredSpan(
                project, s["name"]?.ToString(), s["traceId"]?.ToString(), s["spanId"]?.ToString(), s["parentSpanId"]?.ToString(),
                ParseInt(s["kind"]), start, end, StatusCode(s["status"]), attributes, events, s["links"]?.DeepClone()));
        }

        return result;
    }

    /// <summary>normalizeData + prepareForClickhouse: the legacy array, attributes and events kept as sent.</summary>
    private static List<StoredSpan> NormalizeLegacy(string project, JsonNode? data)
    {
        var list = data as JsonArray ?? throw new InvalidOperationException("inputDataArray.map is not a function");
        var result = new List<StoredSpan>();
        foreach (var item in list)
        {
            var s = item!.AsObject();
            var context = s["context"];
            var start = s["startTime"] is JsonArray st ? HrTimeToIso(st) : s["start_time"]?.ToString();
            var end = s["endTime"] is JsonArray et ? HrTimeToIso(et) : s["end_time"]?.ToString();
            if (s["duration"] is { } duration)
            {
                // convertDurationToMicroseconds destructures [seconds, nanoseconds]: a number throws.
                _ = duration.AsArray();
            }
            else if (start?.Split('.') is not { Length: > 1 } || end?.Split('.') is not { Length: > 1 })
            {
                // getDurationInMicroseconds reads the fraction after the first '.'.
                throw new InvalidOperationException("cannot read properties of undefined");
            }

            var attributes = new Dictionary<string, JsonNode?>();
            if (s["attributes"] is JsonObject attrs)
            {
                foreach (var (key, value) in attrs)
                {
                    attributes[key] = value?.DeepClone();
                }
            }

            var events = new List<StoredEvent>();
            if (s["events"] is JsonArray eventList)
            {
                foreach (var e in eventList)
                {
                    var eventAttributes = new Dictionary<string, JsonNode?>();
                    if (e!["attributes"] is JsonObject ea)
                    {
                        foreach (var (key, value) in ea)
                        {
                            eventAttributes[key] = value?.DeepClone();
                        }
                    }

                    events.Add(new StoredEvent(e["name"]?.ToString(), (e["timestamp"] ?? e["time"])?.ToJsonString(), eventAttributes));
                }
            }

            result.Add(new StoredSpan(
                project,
                s["name"]?.ToString(),
                (context?["trace_id"] ?? s["traceId"])?.ToString(),
                (s["id"] ?? context?["span_id"] ?? s["spanId"])?.ToString(),
                (s["parentId"] ?? s["parent_id"] ?? s["parentSpanId"])?.ToString(),
                ParseInt(s["kind"]),
                start,
                end,
                StatusCode(s["status"]),
                attributes,
                events,
                s["links"]?.DeepClone()));
        }

        return result;
    }

    /// <summary>Only stringValue and intValue survive (normalizeOTELData); attr.value missing throws.</summary>
    private static Dictionary<string, JsonNode?> KeptAttributes(JsonNode? attributes, bool optional)
    {
        var kept = new Dictionary<string, JsonNode?>();
        if (attributes is null && optional)
        {
            return kept;
        }

        foreach (var attr in attributes?.AsArray() ?? throw new InvalidOperationException("cannot read properties of undefined (reading 'forEach')"))
        {
            var value = attr!["value"] ?? throw new InvalidOperationException("cannot read properties of undefined (reading 'stringValue')");
            var key = attr["key"]?.ToString() ?? "undefined";
            if (value["stringValue"] is { } s)
            {
                kept[key] = s.DeepClone();
            }
            else if (value["intValue"] is { } i)
            {
                kept[key] = i.DeepClone();
            }
        }

        return kept;
    }

    /// <summary>nanosecondsToDateTimeString: BigInt(value) (throws for undefined or non-integers), then milliseconds to ISO.</summary>
    private static string NanosToIso(JsonNode? value)
    {
        var text = value?.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            _ => throw new InvalidOperationException("cannot convert undefined to a BigInt"),
        };
        var nanos = BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var millis = (long)(nanos / 1_000_000);
        return DateTimeOffset.FromUnixTimeMilliseconds(millis).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>convertToDateTime64: [seconds, nanoseconds] to ISO with microseconds.</summary>
    private static string HrTimeToIso(JsonArray time)
    {
        var seconds = time[0]!.GetValue<double>();
        var nanos = time[1]!.GetValue<double>();
        var date = DateTimeOffset.FromUnixTimeMilliseconds((long)((seconds * 1000) + (nanos / 1_000_000)));
        var micros = (long)Math.Floor(nanos / 1000) % 1000;
        return date.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture) + micros.ToString("000", CultureInfo.InvariantCulture) + "Z";
    }

    /// <summary>determineStatusCode on the span object.</summary>
    private static string StatusCode(JsonNode? status)
    {
        var code = status?["status_code"] ?? status?["code"];
        var text = code?.GetValueKind() switch
        {
            JsonValueKind.String => code.GetValue<string>(),
            JsonValueKind.Number => code.ToJsonString(),
            _ => null,
        };
        return text switch
        {
            null or "" or "0" or "UNSET" => "UNSET",
            "1" or "OK" => "OK",
            "2" or "ERROR" => "ERROR",
            _ => text,
        };
    }

    /// <summary>parseInt(kind): leading digits of the text, NaN (null) otherwise.</summary>
    private static int? ParseInt(JsonNode? kind)
    {
        var text = kind?.GetValueKind() switch
        {
            JsonValueKind.String => kind.GetValue<string>().Trim(),
            JsonValueKind.Number => kind.ToJsonString(),
            _ => string.Empty,
        };
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        return digits == 0 ? null : int.Parse(text.AsSpan(0, digits), CultureInfo.InvariantCulture);
    }
}
