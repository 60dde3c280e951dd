using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Langtrace;

/// <summary>
/// Writes one Langtrace request body: OTLP/JSON with exactly one ResourceSpans holding exactly one
/// ScopeSpans (the server reads only <c>resourceSpans[0].scopeSpans[0].spans</c>), shaped so that
/// what the server keeps is everything that was sent:
/// <list type="bullet">
/// <item>every event carries <c>attributes</c> (maybe empty) and <c>timeUnixNano</c> (the server fails the whole request otherwise);</item>
/// <item>the server keeps only string and int values, so bool, double, array, kvlist and bytes values
/// travel as their JSON text in <c>stringValue</c> ("true", "0.25", "[\"a\",1]"); ints stay <c>intValue</c>;</item>
/// <item>GenAI spans get what Langtrace's UI and cost queries read (<see cref="LlmSpanFacts"/>), and
/// prompt / completion as <c>gen_ai.content.prompt</c> / <c>gen_ai.content.completion</c> events
/// when the span holds them only as attributes.</item>
/// </list>
/// Reads the spans, never changes them (the batch is shared with the other exporters). One instance
/// per request: it owns scratch buffers.
/// </summary>
internal sealed class LangtraceJsonEncoder
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Non-ASCII text stays UTF-8 rather than \u escapes: the body is smaller and reads the same.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private static readonly JsonEncodedText ResourceSpansName = JsonEncodedText.Encode("resourceSpans");
    private static readonly JsonEncodedText ResourceName = JsonEncodedText.Encode("resource");
    private static readonly JsonEncodedText ScopeSpansName = JsonEncodedText.Encode("scopeSpans");
    private static readonly JsonEncodedText ScopeName = JsonEncodedText.Encode("scope");
    private static readonly JsonEncodedText SpansName = JsonEncodedText.Encode("spans");
    private static readonly JsonEncodedText SchemaUrlName = JsonEncodedText.Encode("schemaUrl");
    private static readonly JsonEncodedText NameName = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText VersionName = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText TraceIdName = JsonEncodedText.Encode("traceId");
    private static readonly JsonEncodedText SpanIdName = JsonEncodedText.Encode("spanId");
    private static readonly JsonEncodedText ParentSpanIdName = JsonEncodedText.Encode("parentSpanId");
    private static readonly JsonEncodedText TraceStateName = JsonEncodedText.Encode("traceState");
    private static readonly JsonEncodedText FlagsName = JsonEncodedText.Encode("flags");
    private static readonly JsonEncodedText KindName = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText StartName = JsonEncodedText.Encode("startTimeUnixNano");
    private static readonly JsonEncodedText EndName = JsonEncodedText.Encode("endTimeUnixNano");
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("timeUnixNano");
    private static readonly JsonEncodedText AttributesName = JsonEncodedText.Encode("attributes");
    private static readonly JsonEncodedText DroppedAttributesName = JsonEncodedText.Encode("droppedAttributesCount");
    private static readonly JsonEncodedText EventsName = JsonEncodedText.Encode("events");
    private static readonly JsonEncodedText DroppedEventsName = JsonEncodedText.Encode("droppedEventsCount");
    private static readonly JsonEncodedText LinksName = JsonEncodedText.Encode("links");
    private static readonly JsonEncodedText DroppedLinksName = JsonEncodedText.Encode("droppedLinksCount");
    private static readonly JsonEncodedText StatusName = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText CodeName = JsonEncodedText.Encode("code");
    private static readonly JsonEncodedText MessageName = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText KeyName = JsonEncodedText.Encode("key");
    private static readonly JsonEncodedText ValueName = JsonEncodedText.Encode("value");
    private static readonly JsonEncodedText StringValueName = JsonEncodedText.Encode("stringValue");
    private static readonly JsonEncodedText IntValueName = JsonEncodedText.Encode("intValue");

    private readonly IReadOnlyList<string> _copyResourceAttributes;
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly Utf8JsonWriter _scratchWriter;

    public LangtraceJsonEncoder(IReadOnlyList<string> copyResourceAttributes)
    {
        _copyResourceAttributes = copyResourceAttributes;
        _scratchWriter = new Utf8JsonWriter(_scratch, WriterOptions);
    }

    /// <summary>Writes the request for the spans of <paramref name="scope"/> (one scope of <paramref name="resource"/>).</summary>
    public void Encode(ResourceSpans resource, ScopeSpans scope, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, WriterOptions);
        w.WriteStartObject();
        w.WriteStartArray(ResourceSpansName);
        w.WriteStartObject();
        WriteResource(w, resource.Resource);
        w.WriteStartArray(ScopeSpansName);
        w.WriteStartObject();
        WriteScope(w, scope.Scope);
        w.WriteStartArray(SpansName);
        var resourceAttributes = resource.Resource?.Attributes;
        foreach (var span in scope.Spans)
        {
            WriteSpan(w, span, resourceAttributes);
        }

        w.WriteEndArray();
        WriteSchemaUrl(w, scope.SchemaUrl);
        w.WriteEndObject();
        w.WriteEndArray();
        WriteSchemaUrl(w, resource.SchemaUrl);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteResource(Utf8JsonWriter w, Resource? resource)
    {
        w.WriteStartObject(ResourceName);
        w.WriteStartArray(AttributesName);
        if (resource is not null)
        {
            foreach (var kv in resource.Attributes)
            {
                WriteKeyValue(w, kv.Key, kv.Value);
            }
        }

        w.WriteEndArray();
        if (resource is { DroppedAttributesCount: > 0 })
        {
            w.WriteNumber(DroppedAttributesName, resource.DroppedAttributesCount);
        }

        w.WriteEndObject();
    }

    private void WriteScope(Utf8JsonWriter w, InstrumentationScope? scope)
    {
        w.WriteStartObject(ScopeName);
        w.WriteString(NameName, scope?.Name ?? string.Empty);
        if (!string.IsNullOrEmpty(scope?.Version))
        {
            w.WriteString(VersionName, scope.Version);
        }

        if (scope is { Attributes.Count: > 0 })
        {
            WriteAttributes(w, scope.Attributes);
        }

        w.WriteEndObject();
    }

    private void WriteSpan(Utf8JsonWriter w, Span span, RepeatedField<KeyValue>? resourceAttributes)
    {
        w.WriteStartObject();
        WriteHex(w, TraceIdName, span.TraceId);
        WriteHex(w, SpanIdName, span.SpanId);
        if (!span.ParentSpanId.IsEmpty)
        {
            WriteHex(w, ParentSpanIdName, span.ParentSpanId);
        }

        if (span.TraceState.Length > 0)
        {
            w.WriteString(TraceStateName, span.TraceState);
        }

        if (span.Flags != 0)
        {
            w.WriteNumber(FlagsName, span.Flags);
        }

        w.WriteString(NameName, span.Name);
        w.WriteNumber(KindName, (int)span.Kind);
        WriteNanos(w, StartName, span.StartTimeUnixNano);
        WriteNanos(w, EndName, span.EndTimeUnixNano);

        var a = span.Attributes;
        var facts = LlmSpanFacts.Of(span);
        var type = facts.Type(a);
        w.WriteStartArray(AttributesName);
        // Renamed only when readable as a count: WriteDerivedAttributes then writes it under the newer key.
        var renamePrompt = type == LangtraceServiceType.Llm && facts.LlmTokenCounts < 0 && facts.InputTokens < 0
            && LlmSpanFacts.Count(a, facts.PromptTokens) is not null;
        var renameCompletion = type == LangtraceServiceType.Llm && facts.LlmTokenCounts < 0 && facts.OutputTokens < 0
            && LlmSpanFacts.Count(a, facts.CompletionTokens) is not null;
        for (var i = 0; i < a.Count; i++)
        {
            // Langtrace's cost query adds up gen_ai.usage.input_tokens and .prompt_tokens: the older
            // key travels under the newer one so that a call is never priced twice.
            if ((renamePrompt && i == facts.PromptTokens) || (renameCompletion && i == facts.CompletionTokens))
            {
                continue;
            }

            WriteKeyValue(w, a[i].Key, a[i].Value);
        }

        CopyResourceAttributes(w, a, resourceAttributes);
        if (type != LangtraceServiceType.None)
        {
            WriteDerivedAttributes(w, a, facts, type);
        }

        w.WriteEndArray();
        if (span.DroppedAttributesCount > 0)
        {
            w.WriteNumber(DroppedAttributesName, span.DroppedAttributesCount);
        }

        w.WriteStartArray(EventsName);
        foreach (var e in span.Events)
        {
            w.WriteStartObject();
            WriteNanos(w, TimeName, e.TimeUnixNano);
            w.WriteString(NameName, e.Name);
            WriteAttributes(w, e.Attributes);
            if (e.DroppedAttributesCount > 0)
            {
                w.WriteNumber(DroppedAttributesName, e.DroppedAttributesCount);
            }

            w.WriteEndObject();
        }

        if (type != LangtraceServiceType.None)
        {
            WriteMessageEvents(w, span, facts);
        }

        w.WriteEndArray();
        if (span.DroppedEventsCount > 0)
        {
            w.WriteNumber(DroppedEventsName, span.DroppedEventsCount);
        }

        w.WriteStartArray(LinksName);
        foreach (var link in span.Links)
        {
            w.WriteStartObject();
            WriteHex(w, TraceIdName, link.TraceId);
            WriteHex(w, SpanIdName, link.SpanId);
            if (link.TraceState.Length > 0)
            {
                w.WriteString(TraceStateName, link.TraceState);
            }

            WriteAttributes(w, link.Attributes);
            if (link.DroppedAttributesCount > 0)
            {
                w.WriteNumber(DroppedAttributesName, link.DroppedAttributesCount);
            }

            if (link.Flags != 0)
            {
                w.WriteNumber(FlagsName, link.Flags);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (span.DroppedLinksCount > 0)
        {
            w.WriteNumber(DroppedLinksName, span.DroppedLinksCount);
        }

        w.WriteStartObject(StatusName);
        w.WriteNumber(CodeName, (int)(span.Status?.Code ?? Status.Types.StatusCode.Unset));
        if (!string.IsNullOrEmpty(span.Status?.Message))
        {
            w.WriteString(MessageName, span.Status.Message);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void CopyResourceAttributes(Utf8JsonWriter w, RepeatedField<KeyValue> span, RepeatedField<KeyValue>? resource)
    {
        if (resource is null)
        {
            return;
        }

        foreach (var key in _copyResourceAttributes)
        {
            if (Find(resource, key) is { } value && Find(span, key) is null)
            {
                WriteKeyValue(w, key, value);
            }
        }
    }

    /// <summary>Adds, only where the span lacks them, the keys Langtrace reads for its type, vendor, model and token usage.</summary>
    private static void WriteDerivedAttributes(Utf8JsonWriter w, RepeatedField<KeyValue> a, in LlmSpanFacts f, LangtraceServiceType type)
    {
        if (f.ServiceType < 0)
        {
            WriteString(w, "langtrace.service.type", type switch
            {
                LangtraceServiceType.Llm => "llm",
                LangtraceServiceType.VectorDb => "vectordb",
                _ => "framework",
            });
        }

        var provider = f.Provider(a);
        if (provider is not null)
        {
            var vendor = LangtraceVendor.Of(provider);
            if (f.ServiceName < 0)
            {
                WriteString(w, "langtrace.service.name", vendor);
            }

            if (f.GenAiSystem < 0)
            {
                WriteString(w, "gen_ai.system", vendor);
            }
        }

        if (type != LangtraceServiceType.Llm)
        {
            return;
        }

        if (f.Model(a) is { } model)
        {
            if (f.RequestModel < 0)
            {
                WriteString(w, "gen_ai.request.model", model);
            }

            if (f.LlmModel < 0)
            {
                WriteString(w, "llm.model", model);
            }
        }

        // llm.token.counts is the older Langtrace form, which its queries read on their own: adding
        // gen_ai.usage.* next to it would count the call twice.
        if (f.LlmTokenCounts >= 0)
        {
            return;
        }

        var input = LlmSpanFacts.Count(a, f.InputTokens) ?? LlmSpanFacts.Count(a, f.PromptTokens) ?? LlmSpanFacts.Count(a, f.OiPromptTokens);
        var output = LlmSpanFacts.Count(a, f.OutputTokens) ?? LlmSpanFacts.Count(a, f.CompletionTokens) ?? LlmSpanFacts.Count(a, f.OiCompletionTokens);
        if (f.InputTokens < 0 && input is { } i)
        {
            WriteInt(w, "gen_ai.usage.input_tokens", i);
        }

        if (f.OutputTokens < 0 && output is { } o)
        {
            WriteInt(w, "gen_ai.usage.output_tokens", o);
        }

        if (f.TotalTokens < 0 && f.RequestTotalTokens < 0)
        {
            var total = LlmSpanFacts.Count(a, f.LlmUsageTotalTokens) ?? LlmSpanFacts.Count(a, f.OiTotalTokens) ?? (input + output);
            if (total is { } t)
            {
                WriteInt(w, "gen_ai.usage.total_tokens", t);
            }
        }
    }

    /// <summary>Prompt and completion as the events Langtrace's LLM view reads, when the span has them only as attributes.</summary>
    private void WriteMessageEvents(Utf8JsonWriter w, Span span, in LlmSpanFacts f)
    {
        var a = span.Attributes;
        if (!f.HasPromptEvent && MessagesText(a, f.InputMessages, f.PromptText, f.IndexedPrompt, LlmSpanFacts.IndexedPromptPrefix, f.OiInputMessages, LlmSpanFacts.OiInputPrefix) is { } prompt)
        {
            WriteMessageEvent(w, LlmSpanFacts.PromptEventName, "gen_ai.prompt", span.StartTimeUnixNano, prompt);
        }

        if (!f.HasCompletionEvent && MessagesText(a, f.OutputMessages, f.CompletionText, f.IndexedCompletion, LlmSpanFacts.IndexedCompletionPrefix, f.OiOutputMessages, LlmSpanFacts.OiOutputPrefix) is { } completion)
        {
            WriteMessageEvent(w, LlmSpanFacts.CompletionEventName, "gen_ai.completion", span.EndTimeUnixNano, completion);
        }
    }

    private static void WriteMessageEvent(Utf8JsonWriter w, string name, string key, ulong time, string text)
    {
        w.WriteStartObject();
        WriteNanos(w, TimeName, time);
        w.WriteString(NameName, name);
        w.WriteStartArray(AttributesName);
        WriteString(w, key, text);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The messages as JSON text, from the first form the span has: the OTel JSON attribute, a plain text attribute, the OpenLLMetry or the OpenInference indexed form.</summary>
    private string? MessagesText(RepeatedField<KeyValue> a, int messages, int text, bool indexed, string indexedPrefix, bool openInference, string oiPrefix)
    {
        if (messages >= 0 && a[messages].Value is { } value)
        {
            return value.ValueCase == AnyValue.ValueOneofCase.StringValue ? value.StringValue : JsonText(value);
        }

        if (LlmSpanFacts.Text(a, text) is { } plain)
        {
            return plain;
        }

        if (indexed)
        {
            return IndexedMessagesText(a, indexedPrefix, infix: null);
        }

        return openInference ? IndexedMessagesText(a, oiPrefix, infix: "message.") : null;
    }

    /// <summary>
    /// Rebuilds "prefix{i}.field" (OpenLLMetry) or "prefix{i}.message.field" (OpenInference)
    /// attributes as a JSON array of one object per index, fields in attribute order.
    /// </summary>
    private string IndexedMessagesText(RepeatedField<KeyValue> a, string prefix, string? infix)
    {
        var parts = new List<(int Index, int Order, string Field, AnyValue Value)>();
        for (var i = 0; i < a.Count; i++)
        {
            var key = a[i].Key;
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var index = LlmSpanFacts.IndexAfter(key, prefix, out var rest);
            if (index < 0)
            {
                continue;
            }

            if (infix is not null && string.CompareOrdinal(key, rest, infix, 0, infix.Length) == 0 && key.Length > rest + infix.Length)
            {
                rest += infix.Length;
            }

            parts.Add((index, i, key[rest..], a[i].Value ?? new AnyValue()));
        }

        parts.Sort(static (x, y) => x.Index != y.Index ? x.Index.CompareTo(y.Index) : x.Order.CompareTo(y.Order));
        var sw = StartScratch();
        sw.WriteStartArray();
        for (var p = 0; p < parts.Count; p++)
        {
            if (p == 0 || parts[p].Index != parts[p - 1].Index)
            {
                if (p > 0)
                {
                    sw.WriteEndObject();
                }

                sw.WriteStartObject();
            }

            sw.WritePropertyName(parts[p].Field);
            WriteJsonValue(sw, parts[p].Value);
        }

        if (parts.Count > 0)
        {
            sw.WriteEndObject();
        }

        sw.WriteEndArray();
        return ScratchText();
    }

    private void WriteAttributes(Utf8JsonWriter w, RepeatedField<KeyValue> attributes)
    {
        w.WriteStartArray(AttributesName);
        foreach (var kv in attributes)
        {
            WriteKeyValue(w, kv.Key, kv.Value);
        }

        w.WriteEndArray();
    }

    /// <summary>One attribute as Langtrace keeps it: strings and ints as they are, every other type as its JSON text.</summary>
    private void WriteKeyValue(Utf8JsonWriter w, string key, AnyValue? value)
    {
        w.WriteStartObject();
        w.WriteString(KeyName, key);
        w.WriteStartObject(ValueName);
        switch (value?.ValueCase ?? AnyValue.ValueOneofCase.None)
        {
            case AnyValue.ValueOneofCase.StringValue:
                w.WriteString(StringValueName, value!.StringValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                WriteDecimal(w, IntValueName, value!.IntValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                w.WriteString(StringValueName, value!.BoolValue ? "true" : "false");
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                Span<byte> number = stackalloc byte[32];
                w.WriteString(StringValueName, number[..FormatDouble(value!.DoubleValue, number)]);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                w.WriteBase64String(StringValueName, value!.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
            case AnyValue.ValueOneofCase.KvlistValue:
                var sw = StartScratch();
                WriteJsonValue(sw, value!);
                sw.Flush();
                w.WriteString(StringValueName, _scratch.WrittenSpan);
                break;
            default:
                // An empty AnyValue: JSON null, so that the key at least survives.
                w.WriteString(StringValueName, "null");
                break;
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A value as JSON: numbers, booleans and nesting kept, so that the text reads back to the same types.</summary>
    private static void WriteJsonValue(Utf8JsonWriter w, AnyValue value)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                w.WriteStringValue(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                w.WriteNumberValue(value.IntValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                w.WriteBooleanValue(value.BoolValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                Span<byte> number = stackalloc byte[32];
                var length = FormatDouble(value.DoubleValue, number);
                if (double.IsFinite(value.DoubleValue))
                {
                    w.WriteRawValue(number[..length], skipInputValidation: true);
                }
                else
                {
                    // JSON has no NaN or Infinity: the OTLP/JSON spelling as a string.
                    w.WriteStringValue(number[..length]);
                }

                break;
            case AnyValue.ValueOneofCase.BytesValue:
                w.WriteBase64StringValue(value.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                w.WriteStartArray();
                foreach (var item in value.ArrayValue.Values)
                {
                    WriteJsonValue(w, item);
                }

                w.WriteEndArray();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                w.WriteStartObject();
                foreach (var kv in value.KvlistValue.Values)
                {
                    w.WritePropertyName(kv.Key);
                    WriteJsonValue(w, kv.Value ?? new AnyValue());
                }

                w.WriteEndObject();
                break;
            default:
                w.WriteNullValue();
                break;
        }
    }

    private string JsonText(AnyValue value)
    {
        WriteJsonValue(StartScratch(), value);
        return ScratchText();
    }

    private Utf8JsonWriter StartScratch()
    {
        _scratch.ResetWrittenCount();
        _scratchWriter.Reset(_scratch);
        return _scratchWriter;
    }

    private string ScratchText()
    {
        _scratchWriter.Flush();
        return System.Text.Encoding.UTF8.GetString(_scratch.WrittenSpan);
    }

    /// <summary>Shortest round-trip text; integral values keep a ".0" so that the text still reads as a double.</summary>
    private static int FormatDouble(double value, Span<byte> destination)
    {
        if (double.IsNaN(value))
        {
            return Copy("NaN"u8, destination);
        }

        if (double.IsInfinity(value))
        {
            return Copy(value > 0 ? "Infinity"u8 : "-Infinity"u8, destination);
        }

        value.TryFormat(destination, out var written, "R", CultureInfo.InvariantCulture);
        if (destination[..written].IndexOfAny(".Ee"u8) < 0)
        {
            ".0"u8.CopyTo(destination[written..]);
            written += 2;
        }

        return written;
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }

    private static AnyValue? Find(RepeatedField<KeyValue> attributes, string key)
    {
        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes[i].Key == key)
            {
                return attributes[i].Value ?? new AnyValue();
            }
        }

        return null;
    }

    private static void WriteString(Utf8JsonWriter w, string key, string value)
    {
        w.WriteStartObject();
        w.WriteString(KeyName, key);
        w.WriteStartObject(ValueName);
        w.WriteString(StringValueName, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteInt(Utf8JsonWriter w, string key, long value)
    {
        w.WriteStartObject();
        w.WriteString(KeyName, key);
        w.WriteStartObject(ValueName);
        WriteDecimal(w, IntValueName, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>64-bit integers as decimal strings, as OTLP/JSON writes them (JavaScript numbers would lose digits).</summary>
    private static void WriteDecimal(Utf8JsonWriter w, JsonEncodedText name, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        w.WriteString(name, digits[..written]);
    }

    private static void WriteNanos(Utf8JsonWriter w, JsonEncodedText name, ulong value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        w.WriteString(name, digits[..written]);
    }

    private static void WriteHex(Utf8JsonWriter w, JsonEncodedText name, ByteString id)
    {
        Span<char> hex = stackalloc char[64];
        if (Convert.TryToHexStringLower(id.Span, hex, out var written))
        {
            w.WriteString(name, hex[..written]);
        }
        else
        {
            // Longer than any valid id; still sent whole, the backend decides.
            w.WriteString(name, Convert.ToHexStringLower(id.Span));
        }
    }

    private static void WriteSchemaUrl(Utf8JsonWriter w, string schemaUrl)
    {
        if (schemaUrl.Length > 0)
        {
            w.WriteString(SchemaUrlName, schemaUrl);
        }
    }
}
