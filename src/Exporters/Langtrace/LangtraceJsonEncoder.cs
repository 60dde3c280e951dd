using System.Buffers;
using System.Buffers.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
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
/// <item>GenAI spans get what Langtrace's UI and cost queries read (read through <see cref="GenAiSpanView"/>), and
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
        // Index loops throughout: a protobuf list's foreach enumerator is boxed, once per list.
        for (var i = 0; i < scope.Spans.Count; i++)
        {
            WriteSpan(w, scope.Spans[i], resourceAttributes);
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
            WriteKeyValues(w, resource.Attributes);
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
        var view = GenAiSpanView.Of(span);
        var type = LangtraceServiceTypes.Of(view);
        w.WriteStartArray(AttributesName);
        // Langtrace's cost query adds up gen_ai.usage.input_tokens and .prompt_tokens: the older
        // key travels under the newer one (WriteDerivedAttributes writes it) so that a call is never
        // priced twice. Renamed only when readable as a count.
        var renamePrompt = Renamed(view, type, GenAiKey.PromptTokens, GenAiKey.InputTokens);
        var renameCompletion = Renamed(view, type, GenAiKey.CompletionTokens, GenAiKey.OutputTokens);
        for (var i = 0; i < a.Count; i++)
        {
            if (i == renamePrompt || i == renameCompletion)
            {
                continue;
            }

            WriteKeyValue(w, a[i].Key, a[i].Value);
        }

        CopyResourceAttributes(w, a, resourceAttributes);
        if (type != LangtraceServiceType.None)
        {
            WriteDerivedAttributes(w, view, type);
        }

        w.WriteEndArray();
        if (span.DroppedAttributesCount > 0)
        {
            w.WriteNumber(DroppedAttributesName, span.DroppedAttributesCount);
        }

        w.WriteStartArray(EventsName);
        for (var i = 0; i < span.Events.Count; i++)
        {
            var e = span.Events[i];
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
            WriteMessageEvent(w, view, prompt: true, span.StartTimeUnixNano);
            WriteMessageEvent(w, view, prompt: false, span.EndTimeUnixNano);
        }

        w.WriteEndArray();
        if (span.DroppedEventsCount > 0)
        {
            w.WriteNumber(DroppedEventsName, span.DroppedEventsCount);
        }

        w.WriteStartArray(LinksName);
        for (var i = 0; i < span.Links.Count; i++)
        {
            var link = span.Links[i];
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

        for (var k = 0; k < _copyResourceAttributes.Count; k++)
        {
            var key = _copyResourceAttributes[k];
            var index = OtlpAttributes.IndexOf(resource, key);
            if (index >= 0 && OtlpAttributes.IndexOf(span, key) < 0)
            {
                WriteKeyValue(w, key, resource[index].Value);
            }
        }
    }

    /// <summary>Where the older usage key <paramref name="older"/> is to be skipped because it travels as <paramref name="newer"/>, or -1.</summary>
    private static int Renamed(in GenAiSpanView view, LangtraceServiceType type, GenAiKey older, GenAiKey newer) =>
        type == LangtraceServiceType.Llm && !view.Has(GenAiKey.LangtraceTokenCounts) && !view.Has(newer)
        && view.Value(older) is { } value && GenAiConventions.TryGetCount(value, out _)
            ? view.IndexOf(older)
            : -1;

    /// <summary>
    /// Adds, only where the span lacks them, the keys Langtrace reads for its type, vendor, model
    /// and token usage; provider, model and counts are the GenAI module's answer for the span.
    /// </summary>
    private static void WriteDerivedAttributes(Utf8JsonWriter w, in GenAiSpanView view, LangtraceServiceType type)
    {
        if (!view.Has(GenAiKey.LangtraceServiceType))
        {
            WriteString(w, GenAiOperation.LangtraceKey, type switch
            {
                LangtraceServiceType.Llm => "llm",
                LangtraceServiceType.VectorDb => "vectordb",
                _ => "framework",
            });
        }

        if (view.Provider() is { } provider)
        {
            var vendor = LangtraceVendor.Of(provider);
            if (!view.Has(GenAiKey.LangtraceServiceName))
            {
                WriteString(w, GenAiConventions.LangtraceServiceName, vendor);
            }

            if (!view.Has(GenAiKey.System))
            {
                WriteString(w, GenAiConventions.System, vendor);
            }
        }

        if (type != LangtraceServiceType.Llm)
        {
            return;
        }

        if (view.Model() is { } model)
        {
            if (!view.Has(GenAiKey.RequestModel))
            {
                WriteString(w, GenAiConventions.RequestModel, model);
            }

            if (!view.Has(GenAiKey.LegacyLlmModel))
            {
                WriteString(w, GenAiConventions.LegacyLlmModel, model);
            }
        }

        // llm.token.counts is the older Langtrace form, which its queries read on their own: adding
        // gen_ai.usage.* next to it would count the call twice.
        if (view.Has(GenAiKey.LangtraceTokenCounts))
        {
            return;
        }

        if (!view.Has(GenAiKey.InputTokens) && view.InputTokens() is { } input)
        {
            WriteInt(w, GenAiConventions.InputTokensKey, input);
        }

        if (!view.Has(GenAiKey.OutputTokens) && view.OutputTokens() is { } output)
        {
            WriteInt(w, GenAiConventions.OutputTokensKey, output);
        }

        if (!view.Has(GenAiKey.TotalTokens) && !view.Has(GenAiKey.LangtraceRequestTotalTokens) && view.TotalTokens() is { } total)
        {
            WriteInt(w, GenAiConventions.TotalTokensKey, total);
        }
    }

    /// <summary>
    /// The prompt (or completion) as the event Langtrace's LLM view reads, when the span has no such
    /// event: from the first form the span has, the OTel JSON attribute (as it is), a plain
    /// <c>gen_ai.prompt</c> attribute, or an indexed form (OpenLLMetry, OpenInference) written as
    /// Langtrace-shaped message JSON.
    /// </summary>
    private void WriteMessageEvent(Utf8JsonWriter w, in GenAiSpanView view, bool prompt, ulong time)
    {
        if (view.Has(prompt ? GenAiMessageForms.PromptEvent : GenAiMessageForms.CompletionEvent))
        {
            return;
        }

        string text;
        if (view.Value(prompt ? GenAiKey.InputMessages : GenAiKey.OutputMessages) is { } messages)
        {
            text = messages.ValueCase == AnyValue.ValueOneofCase.StringValue ? messages.StringValue : JsonText(messages);
        }
        else if (view.Text(prompt ? GenAiKey.PromptText : GenAiKey.CompletionText) is { Length: > 0 } plain)
        {
            text = plain;
        }
        else if (view.IndexedForm(prompt)?.Read(view.Attributes) is { } indexed)
        {
            MessageJson.Write(StartScratch(), indexed, MessageJsonShape.Langtrace);
            text = ScratchText();
        }
        else
        {
            return;
        }

        w.WriteStartObject();
        WriteNanos(w, TimeName, time);
        w.WriteString(NameName, prompt ? GenAiConventions.LangtracePromptEvent : GenAiConventions.LangtraceCompletionEvent);
        w.WriteStartArray(AttributesName);
        WriteString(w, prompt ? GenAiConventions.LangtracePromptAttribute : GenAiConventions.LangtraceCompletionAttribute, text);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteAttributes(Utf8JsonWriter w, RepeatedField<KeyValue> attributes)
    {
        w.WriteStartArray(AttributesName);
        WriteKeyValues(w, attributes);
        w.WriteEndArray();
    }

    private void WriteKeyValues(Utf8JsonWriter w, RepeatedField<KeyValue> attributes)
    {
        for (var i = 0; i < attributes.Count; i++)
        {
            WriteKeyValue(w, attributes[i].Key, attributes[i].Value);
        }
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
                Span<byte> number = stackalloc byte[AnyValueJson.MaxDoubleLength];
                w.WriteString(StringValueName, number[..AnyValueJson.FormatDouble(value!.DoubleValue, number)]);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                w.WriteBase64String(StringValueName, value!.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
            case AnyValue.ValueOneofCase.KvlistValue:
                AnyValueJson.Write(StartScratch(), value!);
                _scratchWriter.Flush();
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

    private string JsonText(AnyValue value)
    {
        AnyValueJson.Write(StartScratch(), value);
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
