using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf.Reflection;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// Per message type lookup tables for <see cref="OtlpJsonTranscoder"/>, built once per descriptor:
/// every accepted property name (lowerCamelCase JSON name and original proto name) as UTF-8,
/// mapped to a "name slot", and per field what the transcoder needs to write protobuf binary.
/// </summary>
internal sealed class JsonMessageLayout
{
    private static readonly ConcurrentDictionary<MessageDescriptor, JsonMessageLayout> Cache = new();

    private readonly byte[][] _slotNames;
    private readonly JsonFieldLayout[] _slotFields;

    private JsonMessageLayout(MessageDescriptor descriptor)
    {
        Descriptor = descriptor;
        var oneofs = descriptor.Oneofs;
        OneofCount = oneofs.Count;
        var names = new List<byte[]>();
        var fields = new List<JsonFieldLayout>();
        var index = 0;
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (field.IsMap)
            {
                // No OTLP message has a map field; supporting them is not worth the code.
                throw new NotSupportedException($"OTLP/JSON transcoding does not support map field {field.FullName}");
            }

            var oneof = field.ContainingOneof is { } containing ? oneofs.IndexOf(containing) : -1;
            var layout = new JsonFieldLayout(field, index++, oneof);
            names.Add(Encoding.UTF8.GetBytes(field.JsonName));
            fields.Add(layout);
            if (field.Name != field.JsonName)
            {
                names.Add(Encoding.UTF8.GetBytes(field.Name));
                fields.Add(layout);
            }
        }

        _slotNames = [.. names];
        _slotFields = [.. fields];
        FieldCount = index;
        var byNumber = new List<JsonFieldLayout>(index);
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            byNumber.Add(_slotFields[FindSlot(Encoding.UTF8.GetBytes(field.JsonName))]);
        }

        InNumberOrder = [.. byNumber];
    }

    /// <summary>The fields in the order the JSON formatter writes them.</summary>
    public IReadOnlyList<JsonFieldLayout> InNumberOrder { get; }

    public MessageDescriptor Descriptor { get; }

    public int FieldCount { get; }

    public int OneofCount { get; }

    public int SlotCount => _slotNames.Length;

    public static JsonMessageLayout For(MessageDescriptor descriptor) =>
        Cache.TryGetValue(descriptor, out var layout) ? layout : Cache.GetOrAdd(descriptor, static d => new JsonMessageLayout(d));

    /// <summary>The name slot of an (unescaped) property name, or -1 for an unknown property.</summary>
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

    public JsonFieldLayout Field(int slot) => _slotFields[slot];
}

/// <summary>What the transcoder needs to know about one field, precomputed.</summary>
internal sealed class JsonFieldLayout
{
    private JsonMessageLayout? _message;

    public JsonFieldLayout(FieldDescriptor field, int index, int oneofIndex)
    {
        Descriptor = field;
        Index = index;
        OneofIndex = oneofIndex;
        Type = field.FieldType;
        IsRepeated = field.IsRepeated;
        IsIdKey = OtlpJsonTranscoder.IsIdKey(field.Name) || OtlpJsonTranscoder.IsIdKey(field.JsonName);
        WireType = Type switch
        {
            FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64 => 1,
            FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32 => 5,
            FieldType.String or FieldType.Bytes or FieldType.Message => 2,
            FieldType.Group => throw new NotSupportedException($"OTLP/JSON transcoding does not support group field {field.FullName}"),
            _ => 0,
        };
        Tag = ((uint)field.FieldNumber << 3) | (uint)WireType;
        PackedTag = ((uint)field.FieldNumber << 3) | 2;
        IsPacked = IsRepeated && WireType != 2;
    }

    public FieldDescriptor Descriptor { get; }

    /// <summary>Position in declaration order, for the per-object "seen" flags.</summary>
    public int Index { get; }

    public int OneofIndex { get; }

    public FieldType Type { get; }

    public bool IsRepeated { get; }

    /// <summary>Repeated scalars are written packed (one length-delimited record per JSON array).</summary>
    public bool IsPacked { get; }

    /// <summary>traceId/spanId/parentSpanId: hex strings in OTLP/JSON.</summary>
    public bool IsIdKey { get; }

    public int WireType { get; }

    public uint Tag { get; }

    public uint PackedTag { get; }

    public int Number => Descriptor.FieldNumber;

    // Resolved lazily: message types refer to each other (AnyValue -> ArrayValue -> AnyValue).
    public JsonMessageLayout Message => _message ??= JsonMessageLayout.For(Descriptor.MessageType);
}
