using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Collector.Tests.JsonCodec;

/// <summary>
/// Fills any message with random values through its descriptor, so every field of every OTLP
/// message (histograms, exemplars, links, events, all AnyValue kinds, optional fields) is covered,
/// with the awkward values: NaN and infinities, -0, extreme 64-bit integers, escapes, non-ASCII,
/// empty and odd-length bytes, unknown enum numbers.
/// </summary>
internal static class RandomMessages
{
    private const int MaxDepth = 7;

    private static readonly double[] Doubles = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, 1.5, 3, 1e300, double.Epsilon, -123456.789, 9007199254740993];
    private static readonly long[] Longs = [0, -1, 1, long.MaxValue, long.MinValue, (1L << 53) + 1, -(1L << 53) - 1, 1L << 53, 1544712660000000000];
    private static readonly ulong[] ULongs = [0, 1, ulong.MaxValue, (1UL << 53) + 1, 1UL << 53, 1544712660000000000];
    private static readonly string[] Strings = ["", "a", "välue", "quote\" backslash\\ newline\n tab\t ctl\u0001", "emoji 😀", "line\u2028sep", "日本語", "</script>&'"];

    public static T Create<T>(Random random)
        where T : IMessage<T>, new()
    {
        var message = new T();
        Fill(message, random, 0);

        // Through the wire once: drops what protobuf cannot carry either (-0.0 in a field without presence).
        return new MessageParser<T>(() => new T()).ParseFrom(message.ToByteArray());
    }

    private static void Fill(IMessage message, Random random, int depth)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (field.RealContainingOneof is not null)
            {
                continue;
            }

            if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                var count = field.FieldType == FieldType.Message ? random.Next(depth < MaxDepth ? 4 : 1) : random.Next(5);
                for (var i = 0; i < count; i++)
                {
                    list.Add(Value(field, random, depth));
                }
            }
            else if (field.FieldType != FieldType.Message ? random.Next(5) > 0 : depth < MaxDepth && random.Next(3) > 0)
            {
                field.Accessor.SetValue(message, Value(field, random, depth));
            }
        }

        foreach (var oneof in message.Descriptor.Oneofs)
        {
            if (oneof.IsSynthetic || random.Next(6) == 0)
            {
                continue;
            }

            var members = oneof.Fields;
            var field = members[random.Next(members.Count)];
            if (field.FieldType == FieldType.Message && depth >= MaxDepth)
            {
                continue;
            }

            field.Accessor.SetValue(message, Value(field, random, depth));
        }
    }

    private static object Value(FieldDescriptor field, Random random, int depth)
    {
        switch (field.FieldType)
        {
            case FieldType.Message:
                var nested = (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;
                Fill(nested, random, depth + 1);
                return nested;
            case FieldType.Double:
                return random.Next(3) == 0 ? random.NextDouble() * 1000 : Doubles[random.Next(Doubles.Length)];
            case FieldType.Float:
                return (float)Doubles[random.Next(Doubles.Length)];
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                return random.Next(3) == 0 ? random.NextInt64(long.MinValue, long.MaxValue) : Longs[random.Next(Longs.Length)];
            case FieldType.UInt64 or FieldType.Fixed64:
                return random.Next(3) == 0 ? (ulong)random.NextInt64(long.MinValue, long.MaxValue) : ULongs[random.Next(ULongs.Length)];
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                return random.Next(3) switch { 0 => int.MinValue, 1 => int.MaxValue, _ => random.Next(-1000, 1000) };
            case FieldType.UInt32 or FieldType.Fixed32:
                return random.Next(2) == 0 ? uint.MaxValue : (uint)random.Next(0, 1000);
            case FieldType.Bool:
                return random.Next(2) == 0;
            case FieldType.String:
                return Strings[random.Next(Strings.Length)] + (random.Next(2) == 0 ? random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
            case FieldType.Bytes:
                var bytes = new byte[random.Next(4) switch { 0 => 0, 1 => 8, 2 => 16, _ => random.Next(1, 40) }];
                random.NextBytes(bytes);
                return ByteString.CopyFrom(bytes);
            case FieldType.Enum:
                var values = field.EnumType.Values;
                return random.Next(8) == 0 ? 999 : values[random.Next(values.Count)].Number;
            default:
                throw new NotSupportedException(field.FieldType.ToString());
        }
    }
}
