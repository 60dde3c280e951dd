using Google.Protobuf;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// The OTLP/JSON mapping: protobuf JSON with lowerCamelCase keys, enums as integers, 64-bit
/// integers as decimal strings, and (unlike plain protobuf JSON) trace and span ids as hex
/// rather than base64. Unknown fields are ignored on input, as the specification requires.
/// </summary>
public static class OtlpJson
{
    /// <summary>Decodes OTLP/JSON; every malformed input is an <see cref="InvalidDataException"/>.</summary>
    public static TMessage Parse<TMessage>(ReadOnlySpan<byte> utf8Json, MessageParser<TMessage> parser)
        where TMessage : IMessage<TMessage>, new() => OtlpJsonTranscoder.Parse(utf8Json, parser);

    public static string Format(IMessage message) => System.Text.Encoding.UTF8.GetString(FormatUtf8(message));

    public static byte[] FormatUtf8(IMessage message) => OtlpJsonFormatter.FormatUtf8(message);
}
