using System.Globalization;
using System.Text;
using System.Text.Json;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Receiver.Langtrace;

/// <summary>
/// JSON bodies of <c>POST /api/trace</c> as OTLP: an OTLP/JSON <c>ExportTraceServiceRequest</c>
/// object (OTel exporters), or the legacy JSON array of spans the Langtrace SDKs' own exporters
/// post. The array elements come in two shapes, told apart per field:
/// <list type="bullet">
/// <item>Python (<c>span.to_json()</c> plus a few fields): <c>context.trace_id</c> / <c>span_id</c> as
/// "0x" hex, <c>parent_id</c>, ISO-8601 <c>start_time</c> / <c>end_time</c>, <c>kind</c> "SpanKind.CLIENT",
/// <c>status.status_code</c> "OK" | "ERROR" | "UNSET", events with ISO <c>timestamp</c>, <c>resource.attributes</c>,
/// <c>instrumentationLibrary</c> as the Python repr "InstrumentationInfo(name, version, schema_url)";</item>
/// <item>TypeScript (a ReadableSpan serialised): <c>traceId</c>, <c>spanId</c> (or <c>id</c>), <c>parentSpanId</c>,
/// <c>startTime</c> / <c>endTime</c> / event <c>time</c> as [seconds, nanoseconds], <c>kind</c> as the JS enum
/// (INTERNAL = 0 ... CONSUMER = 4, one less than OTLP), <c>status.code</c>, resource attributes under
/// <c>attributes</c> or the Resource class's <c>_attributes</c>, <c>instrumentationLibrary</c> /
/// <c>instrumentationScope</c> objects.</item>
/// </list>
/// Spans are grouped into one ResourceSpans per distinct resource and one ScopeSpans per scope.
/// A body of the wrong shape throws <see cref="InvalidDataException"/>; a span whose ids are not
/// valid hex keeps empty ids, which the receiver's id check drops and counts. Attribute values
/// nest at most as deep as the protobuf parser reads back (<see cref="OtlpLimits.MaxMessageDepth"/>,
/// counted in the messages the JSON becomes); deeper throws <see cref="OtlpLimits.TooDeep"/>'s InvalidDataException.
/// </summary>
internal static class LangtraceRequestDecoder
{
    private const long UnixEpochTicks = 621_355_968_000_000_000;

    // Message levels of an attribute's AnyValue below the request: resource spans, resource, key value, any value;
    // a span's: resource spans, scope spans, span, key value, any value; an event's or link's one more.
    private const int ResourceValueDepth = 4;
    private const int SpanValueDepth = 5;
    private const int EventValueDepth = 6;
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    public static RepeatedField<ResourceSpans> DecodeJson(ReadOnlySpan<byte> utf8)
    {
        // A UTF-8 byte order mark is not JSON, but some clients send one.
        if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8 = utf8[3..];
        }

        var at = utf8.IndexOfAnyExcept(" \t\r\n"u8);
        var first = at < 0 ? (byte)0 : utf8[at];
        if (first == (byte)'{')
        {
            return OtlpJson.Parse(utf8, ExportTraceServiceRequest.Parser).ResourceSpans;
        }

        if (first != (byte)'[')
        {
            throw new InvalidDataException("the body must be an OTLP/JSON object or a JSON array of Langtrace SDK spans");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"invalid JSON: {e.Message}", e);
        }

        using (document)
        {
            return DecodeSpans(document.RootElement);
        }
    }

    private static RepeatedField<ResourceSpans> DecodeSpans(JsonElement array)
    {
        var result = new RepeatedField<ResourceSpans>();
        var resources = new Dictionary<(Resource, string), ResourceSpans>();
        // Keyed by the resource and scope messages, which never change here (ResourceSpans do: their hash moves as spans are added).
        var scopes = new Dictionary<(Resource, string, InstrumentationScope), ScopeSpans>();
        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"span #{index}: expected an object, got {element.ValueKind}");
            }

            Span span;
            try
            {
                span = ToSpan(element);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                // JsonElement throws InvalidOperationException for a field of the wrong JSON type.
                throw new InvalidDataException($"span #{index}: {e.Message}", e);
            }

            var (resource, schemaUrl) = ToResource(Property(element, "resource"));
            if (!resources.TryGetValue((resource, schemaUrl), out var resourceSpans))
            {
                resourceSpans = new ResourceSpans { Resource = resource, SchemaUrl = schemaUrl };
                resources.Add((resource, schemaUrl), resourceSpans);
                result.Add(resourceSpans);
            }

            var scope = ToScope(Property(element, "instrumentationScope") ?? Property(element, "instrumentationLibrary"));
            if (!scopes.TryGetValue((resource, schemaUrl, scope), out var scopeSpans))
            {
                scopeSpans = new ScopeSpans { Scope = scope, SchemaUrl = SchemaUrlOf(element) };
                scopes.Add((resource, schemaUrl, scope), scopeSpans);
                resourceSpans.ScopeSpans.Add(scopeSpans);
            }

            scopeSpans.Spans.Add(span);
            index++;
        }

        return result;
    }

    private static Span ToSpan(JsonElement e)
    {
        var context = Property(e, "context") ?? Property(e, "spanContext");
        var span = new Span
        {
            Name = Text(e, "name") ?? string.Empty,
            TraceId = ToId(Text(context, "trace_id") ?? Text(context, "traceId") ?? Text(e, "traceId")),
            SpanId = ToId(Text(context, "span_id") ?? Text(context, "spanId") ?? Text(e, "spanId") ?? Text(e, "id")),
            ParentSpanId = ToId(Text(e, "parent_id") ?? Text(e, "parentSpanId") ?? Text(e, "parentId")
                ?? Text(Property(e, "parentSpanContext"), "spanId")),
            TraceState = ToTraceState(Text(context, "trace_state") ?? Text(e, "traceState") ?? Text(context, "traceState")),
            Kind = ToKind(Property(e, "kind")),
            StartTimeUnixNano = ToTime(Property(e, "start_time") ?? Property(e, "startTime"), "start time"),
            EndTimeUnixNano = ToTime(Property(e, "end_time") ?? Property(e, "endTime"), "end time"),
            Status = ToStatus(Property(e, "status")),
            DroppedAttributesCount = Count(e, "droppedAttributesCount"),
            DroppedEventsCount = Count(e, "droppedEventsCount"),
            DroppedLinksCount = Count(e, "droppedLinksCount"),
        };
        AddAttributes(span.Attributes, Property(e, "attributes"), SpanValueDepth);

        if (Property(e, "events") is { ValueKind: JsonValueKind.Array } events)
        {
            foreach (var item in events.EnumerateArray())
            {
                var ev = new Span.Types.Event
                {
                    Name = Text(item, "name") ?? string.Empty,
                    TimeUnixNano = ToTime(Property(item, "timestamp") ?? Property(item, "time"), "event time"),
                    DroppedAttributesCount = Count(item, "droppedAttributesCount"),
                };
                AddAttributes(ev.Attributes, Property(item, "attributes"), EventValueDepth);
                span.Events.Add(ev);
            }
        }

        if (Property(e, "links") is { ValueKind: JsonValueKind.Array } links)
        {
            foreach (var item in links.EnumerateArray())
            {
                var linked = Property(item, "context");
                var link = new Span.Types.Link
                {
                    TraceId = ToId(Text(linked, "trace_id") ?? Text(linked, "traceId")),
                    SpanId = ToId(Text(linked, "span_id") ?? Text(linked, "spanId")),
                    TraceState = ToTraceState(Text(linked, "trace_state") ?? Text(linked, "traceState")),
                    DroppedAttributesCount = Count(item, "droppedAttributesCount"),
                };
                AddAttributes(link.Attributes, Property(item, "attributes"), EventValueDepth);
                span.Links.Add(link);
            }
        }

        return span;
    }

    /// <summary>Python: resource.attributes + schema_url. TypeScript: the Resource class serialised (attributes, _attributes or _syncAttributes).</summary>
    private static (Resource Resource, string SchemaUrl) ToResource(JsonElement? e)
    {
        var resource = new Resource();
        if (e is not { ValueKind: JsonValueKind.Object } r)
        {
            return (resource, string.Empty);
        }

        var attributes = Property(r, "attributes") ?? Property(r, "_attributes") ?? Property(r, "_syncAttributes");
        AddAttributes(resource.Attributes, attributes, ResourceValueDepth);
        return (resource, Text(r, "schema_url") ?? Text(r, "schemaUrl") ?? string.Empty);
    }

    /// <summary>TypeScript: {name, version, schemaUrl}. Python: the repr "InstrumentationInfo(name, version, schema_url)".</summary>
    private static InstrumentationScope ToScope(JsonElement? e)
    {
        var scope = new InstrumentationScope();
        switch (e)
        {
            case { ValueKind: JsonValueKind.Object } o:
                scope.Name = Text(o, "name") ?? string.Empty;
                scope.Version = Text(o, "version") ?? string.Empty;
                break;
            case { ValueKind: JsonValueKind.String } s when s.GetString() is { } repr:
                var open = repr.IndexOf('(', StringComparison.Ordinal);
                var close = repr.LastIndexOf(')');
                if (open >= 0 && close > open)
                {
                    var parts = repr[(open + 1)..close].Split(", ");
                    scope.Name = parts[0].Trim();
                    scope.Version = parts.Length > 1 && parts[1].Trim() is { } v && v != "None" ? v : string.Empty;
                }

                break;
        }

        return scope;
    }

    private static string SchemaUrlOf(JsonElement e) =>
        (Property(e, "instrumentationScope") ?? Property(e, "instrumentationLibrary")) is { ValueKind: JsonValueKind.Object } o
            ? Text(o, "schemaUrl") ?? string.Empty
            : string.Empty;

    /// <summary>"SpanKind.CLIENT" / "CLIENT" (Python) or the JS enum number (0 = INTERNAL ... 4 = CONSUMER).</summary>
    private static Span.Types.SpanKind ToKind(JsonElement? e)
    {
        if (e is { ValueKind: JsonValueKind.Number } n && n.TryGetInt32(out var js))
        {
            return js is >= 0 and <= 4 ? (Span.Types.SpanKind)(js + 1) : Span.Types.SpanKind.Unspecified;
        }

        if (e is not { ValueKind: JsonValueKind.String } s || s.GetString() is not { } text)
        {
            return Span.Types.SpanKind.Unspecified;
        }

        var name = text.AsSpan();
        var dot = name.LastIndexOf('.');
        name = dot >= 0 ? name[(dot + 1)..] : name;
        if (name.StartsWith("SPAN_KIND_", StringComparison.OrdinalIgnoreCase))
        {
            name = name["SPAN_KIND_".Length..];
        }

        return name switch
        {
            _ when name.Equals("INTERNAL", StringComparison.OrdinalIgnoreCase) => Span.Types.SpanKind.Internal,
            _ when name.Equals("SERVER", StringComparison.OrdinalIgnoreCase) => Span.Types.SpanKind.Server,
            _ when name.Equals("CLIENT", StringComparison.OrdinalIgnoreCase) => Span.Types.SpanKind.Client,
            _ when name.Equals("PRODUCER", StringComparison.OrdinalIgnoreCase) => Span.Types.SpanKind.Producer,
            _ when name.Equals("CONSUMER", StringComparison.OrdinalIgnoreCase) => Span.Types.SpanKind.Consumer,
            _ => Span.Types.SpanKind.Unspecified,
        };
    }

    /// <summary>Python {status_code: "OK"|"ERROR"|"UNSET", description}; TypeScript {code: 0|1|2, message}.</summary>
    private static Status? ToStatus(JsonElement? e)
    {
        if (e is not { ValueKind: JsonValueKind.Object } s)
        {
            return null;
        }

        var code = Property(s, "status_code") ?? Property(s, "code");
        var status = new Status
        {
            Message = Text(s, "description") ?? Text(s, "message") ?? string.Empty,
            Code = code switch
            {
                { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out var c) && c is >= 0 and <= 2 => (Status.Types.StatusCode)c,
                { ValueKind: JsonValueKind.String } t => t.GetString() switch
                {
                    "OK" or "StatusCode.OK" or "STATUS_CODE_OK" => Status.Types.StatusCode.Ok,
                    "ERROR" or "StatusCode.ERROR" or "STATUS_CODE_ERROR" => Status.Types.StatusCode.Error,
                    _ => Status.Types.StatusCode.Unset,
                },
                _ => Status.Types.StatusCode.Unset,
            },
        };
        return status;
    }

    /// <summary>ISO-8601 text (Python) or [seconds, nanoseconds] (JS HrTime), as Unix nanoseconds; absent is 0.</summary>
    private static ulong ToTime(JsonElement? e, string what)
    {
        switch (e)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return 0;
            case { ValueKind: JsonValueKind.String } s:
                if (!DateTimeOffset.TryParse(s.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
                {
                    throw new FormatException($"{what} '{s.GetString()}' is not an ISO-8601 time");
                }

                var ticks = time.UtcTicks - UnixEpochTicks;
                return ticks < 0 ? 0 : (ulong)ticks * 100;
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 2:
                var seconds = a[0].GetDouble();
                var nanos = a[1].GetDouble();
                if (seconds < 0 || nanos < 0 || seconds > 1e11)
                {
                    throw new FormatException($"{what} [{seconds}, {nanos}] is out of range");
                }

                return checked(((ulong)seconds * 1_000_000_000UL) + (ulong)nanos);
            default:
                throw new FormatException($"{what} must be an ISO-8601 string or [seconds, nanoseconds]");
        }
    }

    /// <summary>Hex with or without "0x" (Python writes 0x-prefixed); anything else becomes an empty id.</summary>
    private static ByteString ToId(string? hex)
    {
        if (string.IsNullOrEmpty(hex))
        {
            return ByteString.Empty;
        }

        var digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex.AsSpan(2) : hex.AsSpan();
        var bytes = new byte[digits.Length / 2];
        return digits.Length % 2 == 0 && Convert.FromHexString(digits, bytes, out _, out var written) == System.Buffers.OperationStatus.Done
            ? ByteString.CopyFrom(bytes, 0, written)
            : ByteString.Empty;
    }

    /// <summary>W3C text as is; Python's repr "['{key=k, value=v}', ...]" back to "k=v,...".</summary>
    private static string ToTraceState(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] != '[')
        {
            return value ?? string.Empty;
        }

        var pairs = new StringBuilder();
        var at = 0;
        while ((at = value.IndexOf("{key=", at, StringComparison.Ordinal)) >= 0)
        {
            var valueAt = value.IndexOf(", value=", at, StringComparison.Ordinal);
            var end = valueAt < 0 ? -1 : value.IndexOf('}', valueAt);
            if (end < 0)
            {
                break;
            }

            if (pairs.Length > 0)
            {
                pairs.Append(',');
            }

            pairs.Append(value, at + 5, valueAt - at - 5).Append('=').Append(value, valueAt + 8, end - valueAt - 8);
            at = end;
        }

        return pairs.ToString();
    }

    /// <summary><paramref name="valueDepth"/>: the message level of each attribute's AnyValue.</summary>
    private static void AddAttributes(RepeatedField<KeyValue> target, JsonElement? e, int valueDepth)
    {
        if (e is not { ValueKind: JsonValueKind.Object } o)
        {
            return;
        }

        foreach (var property in o.EnumerateObject())
        {
            // null means "not set" in both SDKs' serialisations: no attribute.
            if (ToAnyValue(property.Value, valueDepth) is { } value)
            {
                target.Add(new KeyValue { Key = property.Name, Value = value });
            }
        }
    }

    /// <summary>
    /// JSON to AnyValue keeping types: integers stay ints, other numbers doubles, arrays and objects
    /// nest. <paramref name="depth"/> is the AnyValue's message level: an array adds ArrayValue and
    /// AnyValue (2 levels), an object KeyValueList, KeyValue and AnyValue (3).
    /// </summary>
    private static AnyValue? ToAnyValue(JsonElement e, int depth)
    {
        if (depth > OtlpLimits.MaxMessageDepth
            || (e.ValueKind is JsonValueKind.Array or JsonValueKind.Object && depth + 1 > OtlpLimits.MaxMessageDepth))
        {
            throw OtlpLimits.TooDeep();
        }

        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                return new AnyValue { StringValue = e.GetString() };
            case JsonValueKind.True:
            case JsonValueKind.False:
                return new AnyValue { BoolValue = e.GetBoolean() };
            case JsonValueKind.Number:
                var raw = e.GetRawText();
                return raw.AsSpan().IndexOfAny(".eE") < 0 && e.TryGetInt64(out var integer)
                    ? new AnyValue { IntValue = integer }
                    : new AnyValue { DoubleValue = e.GetDouble() };
            case JsonValueKind.Array:
                var array = new ArrayValue();
                foreach (var item in e.EnumerateArray())
                {
                    array.Values.Add(ToAnyValue(item, depth + 2) ?? new AnyValue());
                }

                return new AnyValue { ArrayValue = array };
            case JsonValueKind.Object:
                var list = new KeyValueList();
                foreach (var property in e.EnumerateObject())
                {
                    list.Values.Add(new KeyValue { Key = property.Name, Value = ToAnyValue(property.Value, depth + 3) ?? new AnyValue() });
                }

                return new AnyValue { KvlistValue = list };
            default:
                return null;
        }
    }

    private static uint Count(JsonElement e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.Number } n && n.TryGetUInt32(out var count) ? count : 0;

    private static JsonElement? Property(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? Text(JsonElement? e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.String } s ? s.GetString() : null;
}
