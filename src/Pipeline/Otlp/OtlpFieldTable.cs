using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf.Reflection;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>Which id a field carries: OTLP/JSON shows these as hex, not base64.</summary>
internal enum OtlpId
{
    None,
    TraceId,
    SpanId,
    ParentSpanId,
}

/// <summary>What a field holds, as the codecs tell fields apart.</summary>
internal enum OtlpFieldContent
{
    /// <summary>A number, bool or enum (in a length-delimited record: packed repeated values).</summary>
    Scalar,
    Message,
    String,
    Bytes,
    TraceId,
    SpanId,
    ParentSpanId,
}

/// <summary>The messages that are items, as the wire scanner counts them.</summary>
internal enum OtlpItemKind
{
    None,
    Span,
    LogRecord,
    DataPoint,
}

/// <summary>
/// The field table of the OTLP messages, derived once from the generated descriptors: per field
/// its number, tag, wire types, proto and JSON names and whether it is an id. The wire scanner,
/// the OTLP/JSON transcoder and formatter and <see cref="EncodedTraces"/> read their numbers here.
/// </summary>
internal static class OtlpFieldTable
{
    private static readonly ConcurrentDictionary<MessageDescriptor, OtlpMessageFields> Built = new();
    private static readonly Lock BuildLock = new();

    /// <summary>The table of <paramref name="descriptor"/>'s message, built with every message it reaches on first use.</summary>
    public static OtlpMessageFields For(MessageDescriptor descriptor) =>
        Built.TryGetValue(descriptor, out var fields) ? fields : Build(descriptor);

    /// <summary>The id a field of this proto or JSON name carries (also for unknown JSON properties, which must then be hex too).</summary>
    public static OtlpId IdOf(string name) => name switch
    {
        "trace_id" or "traceId" => OtlpId.TraceId,
        "span_id" or "spanId" => OtlpId.SpanId,
        "parent_span_id" or "parentSpanId" => OtlpId.ParentSpanId,
        _ => OtlpId.None,
    };

    /// <summary>The wire type a field of this type is written with (groups, 3, are refused: OTLP has none).</summary>
    public static int NaturalWireType(FieldType type) => type switch
    {
        FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64 => 1,
        FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32 => 5,
        FieldType.String or FieldType.Bytes or FieldType.Message => 2,
        FieldType.Group => throw new NotSupportedException("OTLP has no group fields"),
        _ => 0,
    };

    private static OtlpMessageFields Build(MessageDescriptor root)
    {
        lock (BuildLock)
        {
            if (Built.TryGetValue(root, out var existing))
            {
                return existing;
            }

            // The whole graph is linked before any of it is published, so readers never see a half-built table.
            var pending = new Dictionary<MessageDescriptor, OtlpMessageFields>();
            var result = Resolve(root, pending);
            foreach (var (descriptor, fields) in pending)
            {
                Built.TryAdd(descriptor, fields);
            }

            return result;
        }
    }

    private static OtlpMessageFields Resolve(MessageDescriptor descriptor, Dictionary<MessageDescriptor, OtlpMessageFields> pending)
    {
        if (Built.TryGetValue(descriptor, out var done) || pending.TryGetValue(descriptor, out done))
        {
            return done;
        }

        var fields = new OtlpMessageFields(descriptor, KindOf(descriptor));
        pending.Add(descriptor, fields);

        // After registering: message types refer to each other (AnyValue -> ArrayValue -> AnyValue).
        foreach (var field in fields.Fields)
        {
            if (field.Type == FieldType.Message)
            {
                field.Message = Resolve(field.Descriptor.MessageType, pending);
            }
        }

        return fields;
    }

    private static OtlpItemKind KindOf(MessageDescriptor descriptor)
    {
        if (descriptor == Span.Descriptor)
        {
            return OtlpItemKind.Span;
        }

        if (descriptor == LogRecord.Descriptor)
        {
            return OtlpItemKind.LogRecord;
        }

        return descriptor == NumberDataPoint.Descriptor || descriptor == HistogramDataPoint.Descriptor
            || descriptor == ExponentialHistogramDataPoint.Descriptor || descriptor == SummaryDataPoint.Descriptor
            ? OtlpItemKind.DataPoint
            : OtlpItemKind.None;
    }
}

/// <summary>One message's fields, by number, in declaration order and by JSON property name.</summary>
internal sealed class OtlpMessageFields
{
    // JSON property names accepted (lowerCamelCase JSON name, and the proto name where it differs), as UTF-8.
    private readonly byte[][] _slotNames;
    private readonly OtlpField[] _slotFields;

    internal OtlpMessageFields(MessageDescriptor descriptor, OtlpItemKind kind)
    {
        Descriptor = descriptor;
        Kind = kind;
        var oneofs = descriptor.Oneofs;
        OneofCount = oneofs.Count;
        var realOneofs = 0;
        foreach (var oneof in oneofs)
        {
            realOneofs += oneof.IsSynthetic ? 0 : 1;
        }

        // OTLP messages have at most one real oneof, so the wire scanner tracks one member.
        if (realOneofs > 1)
        {
            throw new NotSupportedException($"{descriptor.FullName} has {realOneofs} oneofs; the field table allows one");
        }

        var fields = new List<OtlpField>();
        var names = new List<byte[]>();
        var slotFields = new List<OtlpField>();
        var maxNumber = 0;
        foreach (var descriptorField in descriptor.Fields.InDeclarationOrder())
        {
            var oneof = descriptorField.ContainingOneof is { } containing ? oneofs.IndexOf(containing) : -1;
            var field = new OtlpField(descriptorField, fields.Count, oneof);
            fields.Add(field);
            maxNumber = Math.Max(maxNumber, field.Number);
            names.Add(Encoding.UTF8.GetBytes(field.JsonName));
            slotFields.Add(field);
            if (field.Name != field.JsonName)
            {
                names.Add(Encoding.UTF8.GetBytes(field.Name));
                slotFields.Add(field);
            }
        }

        Fields = [.. fields];
        _slotNames = [.. names];
        _slotFields = [.. slotFields];
        ByNumber = new OtlpField?[maxNumber + 1];
        foreach (var field in fields)
        {
            ByNumber[field.Number] = field;
        }

        var inNumberOrder = new List<OtlpField>(fields.Count);
        foreach (var field in ByNumber)
        {
            if (field is not null)
            {
                inNumberOrder.Add(field);
            }
        }

        InNumberOrder = [.. inNumberOrder];
    }

    public MessageDescriptor Descriptor { get; }

    public OtlpItemKind Kind { get; }

    /// <summary>Declaration order; <see cref="OtlpField.Index"/> is the position here.</summary>
    public OtlpField[] Fields { get; }

    /// <summary>Indexed by field number (null: no such field). A plain array: the wire scanner's lookup.</summary>
    public OtlpField?[] ByNumber { get; }

    /// <summary>The order the JSON formatter writes fields in.</summary>
    public OtlpField[] InNumberOrder { get; }

    /// <summary>All oneofs, the synthetic ones of proto3 `optional` fields included.</summary>
    public int OneofCount { get; }

    public int SlotCount => _slotNames.Length;

    /// <summary>The field of this proto name (for tables built on top of this one, not for per-item lookups).</summary>
    public OtlpField Named(string protoName)
    {
        foreach (var field in Fields)
        {
            if (field.Name == protoName)
            {
                return field;
            }
        }

        throw new KeyNotFoundException($"{Descriptor.FullName} has no field {protoName}");
    }

    /// <summary>The JSON name slot of an (unescaped) property name, or -1 for an unknown property.</summary>
    public int FindSlot(ReadOnlySpan<byte> name)
    {
        var names = _slotNames;
        for (var i = 0; i < names.Length; i++)
        {
            if (name.SequenceEqual(names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public OtlpField SlotField(int slot) => _slotFields[slot];
}

/// <summary>One field of an OTLP message, everything the codecs need precomputed.</summary>
internal sealed class OtlpField
{
    internal OtlpField(FieldDescriptor field, int index, int oneofIndex)
    {
        if (field.IsMap)
        {
            throw new NotSupportedException($"OTLP has no map fields ({field.FullName})");
        }

        Descriptor = field;
        Index = index;
        OneofIndex = oneofIndex;
        InRealOneof = field.ContainingOneof is { IsSynthetic: false };
        Number = field.FieldNumber;
        Name = field.Name;
        JsonName = field.JsonName;
        Type = field.FieldType;
        IsRepeated = field.IsRepeated;
        WireType = OtlpFieldTable.NaturalWireType(Type);
        Tag = ((uint)Number << 3) | (uint)WireType;
        PackedTag = ((uint)Number << 3) | 2;
        IsPacked = IsRepeated && WireType != 2;

        // A repeated scalar is read both packed and unpacked, as the protobuf parser does.
        AcceptedWires = (1 << WireType) | (IsRepeated ? 1 << 2 : 0);
        Id = OtlpFieldTable.IdOf(Name);
        Content = Type switch
        {
            FieldType.Message => OtlpFieldContent.Message,
            FieldType.String => OtlpFieldContent.String,
            FieldType.Bytes => Id switch
            {
                OtlpId.TraceId => OtlpFieldContent.TraceId,
                OtlpId.SpanId => OtlpFieldContent.SpanId,
                OtlpId.ParentSpanId => OtlpFieldContent.ParentSpanId,
                _ => OtlpFieldContent.Bytes,
            },
            _ => OtlpFieldContent.Scalar,
        };
    }

    public FieldDescriptor Descriptor { get; }

    /// <summary>Position in declaration order, for per-object "seen" flags.</summary>
    public int Index { get; }

    /// <summary>Index of the containing oneof among the message's oneofs (synthetic ones included), or -1.</summary>
    public int OneofIndex { get; }

    /// <summary>Member of the message's one real oneof (a proto3 `optional` field's synthetic oneof holds one field and cannot conflict).</summary>
    public bool InRealOneof { get; }

    public int Number { get; }

    /// <summary>The proto name (snake_case), also accepted in OTLP/JSON input.</summary>
    public string Name { get; }

    /// <summary>The lowerCamelCase name OTLP/JSON writes.</summary>
    public string JsonName { get; }

    public FieldType Type { get; }

    public bool IsRepeated { get; }

    /// <summary>The wire type the field is written with (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).</summary>
    public int WireType { get; }

    public uint Tag { get; }

    /// <summary>The tag of a packed record of this (repeated scalar) field.</summary>
    public uint PackedTag { get; }

    /// <summary>Repeated scalars are written packed (one length-delimited record per list).</summary>
    public bool IsPacked { get; }

    /// <summary>Bit w is set when the parser reads wire type w as this field (otherwise it keeps an unknown field).</summary>
    public int AcceptedWires { get; }

    public OtlpId Id { get; }

    /// <summary>trace_id / span_id / parent_span_id (and their JSON names): hex strings in OTLP/JSON.</summary>
    public bool IsId => Id != OtlpId.None;

    public OtlpFieldContent Content { get; }

    /// <summary>The message type's table, for message fields.</summary>
    public OtlpMessageFields? Message { get; internal set; }

    public bool Accepts(int wire) => ((AcceptedWires >> wire) & 1) != 0;
}
