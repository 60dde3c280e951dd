using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>A ResourceSpans of an encoded request: its resource message bytes (when present) and schema url bytes.</summary>
internal readonly record struct EncodedResource(ReadOnlyMemory<byte>? Resource, ReadOnlyMemory<byte> SchemaUrl);

/// <summary>A ScopeSpans of an encoded request, under <see cref="EncodedResource"/> number <paramref name="Resource"/>.</summary>
internal readonly record struct EncodedScope(int Resource, ReadOnlyMemory<byte>? Scope, ReadOnlyMemory<byte> SchemaUrl);

/// <summary>One encoded Span (its whole message bytes) with its raw ids, under <see cref="EncodedScope"/> number <paramref name="Scope"/>.</summary>
internal readonly record struct EncodedSpan(int Scope, ReadOnlyMemory<byte> Bytes, ReadOnlyMemory<byte> TraceId, ReadOnlyMemory<byte> SpanId);

/// <summary>
/// The resource -> scope -> span outline of encoded ExportTraceServiceRequests, found without
/// decoding a span, so that processors that only need ids (dedup) or only hold spans for a while
/// (langtrace_merge) need not materialise them. Reusable scratch: one owner at a time.
/// </summary>
internal sealed class EncodedTraces
{
    // Field numbers from the field table (static readonly: constants to the JIT once initialised).
    private static readonly int RequestResourceSpans = Number(ExportTraceServiceRequest.Descriptor, "resource_spans");
    private static readonly Container ResourceLayout = new(
        Number(ResourceSpans.Descriptor, "resource"), Number(ResourceSpans.Descriptor, "scope_spans"), Number(ResourceSpans.Descriptor, "schema_url"));

    private static readonly Container ScopeLayout = new(
        Number(ScopeSpans.Descriptor, "scope"), Number(ScopeSpans.Descriptor, "spans"), Number(ScopeSpans.Descriptor, "schema_url"));

    private static readonly int SpanTraceId = Number(Span.Descriptor, "trace_id");
    private static readonly int SpanSpanId = Number(Span.Descriptor, "span_id");

    public List<EncodedResource> Resources { get; } = [];

    public List<EncodedScope> Scopes { get; } = [];

    public List<EncodedSpan> Spans { get; } = [];

    /// <summary>
    /// Replaces the outline with that of <paramref name="segments"/>. False when a segment is not
    /// read the way the protobuf parser would read it in one pass (malformed, or a resource or
    /// scope message given twice, which the parser would merge): the caller then decodes.
    /// </summary>
    public bool TryRead(IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        Clear();
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            var reader = new ProtoFieldReader(segment.Span);
            while (reader.MoveNext())
            {
                if (reader.Number == RequestResourceSpans && reader.IsLengthDelimited && !TryReadResource(segment.Slice(reader.Start, reader.Length)))
                {
                    return false;
                }
            }

            if (reader.Failed)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Forgets the outline (which points into the requests' bytes).</summary>
    public void Clear()
    {
        Resources.Clear();
        Scopes.Clear();
        Spans.Clear();
    }

    private bool TryReadResource(ReadOnlyMemory<byte> message)
    {
        var index = Resources.Count;
        Resources.Add(default);
        if (!TryReadContainer(message, index, isResource: true, out var resource, out var schemaUrl))
        {
            return false;
        }

        Resources[index] = new EncodedResource(resource, schemaUrl);
        return true;
    }

    private bool TryReadScope(int resourceIndex, ReadOnlyMemory<byte> message)
    {
        var index = Scopes.Count;
        Scopes.Add(default);
        if (!TryReadContainer(message, index, isResource: false, out var scope, out var schemaUrl))
        {
            return false;
        }

        Scopes[index] = new EncodedScope(resourceIndex, scope, schemaUrl);
        return true;
    }

    /// <summary>
    /// A ResourceSpans or a ScopeSpans (the same layout: header message, children, schema url); the
    /// children (scopes, or spans) are read as entry <paramref name="index"/>'s.
    /// </summary>
    private bool TryReadContainer(ReadOnlyMemory<byte> message, int index, bool isResource, out ReadOnlyMemory<byte>? header, out ReadOnlyMemory<byte> schemaUrl)
    {
        header = null;
        schemaUrl = ReadOnlyMemory<byte>.Empty;
        var layout = isResource ? ResourceLayout : ScopeLayout;
        var reader = new ProtoFieldReader(message.Span);
        while (reader.MoveNext())
        {
            if (!reader.IsLengthDelimited)
            {
                continue;
            }

            var payload = message.Slice(reader.Start, reader.Length);
            if (reader.Number == layout.Header)
            {
                if (header is not null)
                {
                    return false;
                }

                header = payload;
            }
            else if (reader.Number == layout.Children)
            {
                if (!(isResource ? TryReadScope(index, payload) : TryReadSpan(index, payload)))
                {
                    return false;
                }
            }
            else if (reader.Number == layout.SchemaUrl)
            {
                schemaUrl = payload;
            }
        }

        return !reader.Failed;
    }

    private bool TryReadSpan(int scopeIndex, ReadOnlyMemory<byte> message)
    {
        // The parser keeps the last occurrence of a field, so do we.
        var traceId = ReadOnlyMemory<byte>.Empty;
        var spanId = ReadOnlyMemory<byte>.Empty;
        var reader = new ProtoFieldReader(message.Span);
        while (reader.MoveNext())
        {
            if (reader.IsLengthDelimited && (reader.Number == SpanTraceId || reader.Number == SpanSpanId))
            {
                var payload = message.Slice(reader.Start, reader.Length);
                if (reader.Number == SpanTraceId)
                {
                    traceId = payload;
                }
                else
                {
                    spanId = payload;
                }
            }
        }

        Spans.Add(new EncodedSpan(scopeIndex, message, traceId, spanId));
        return !reader.Failed;
    }

    private static int Number(Google.Protobuf.Reflection.MessageDescriptor message, string field) => OtlpFieldTable.For(message).Named(field).Number;

    /// <summary>The field numbers of a ResourceSpans or ScopeSpans: its header message, its children, its schema url.</summary>
    private readonly record struct Container(int Header, int Children, int SchemaUrl);
}
