using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Collector.Receiver.Otlp;

/// <summary>
/// Encodes google.rpc.Status (code = 1, message = 2, details = 3) and google.rpc.RetryInfo
/// (retry_delay = 1) by hand: two tiny messages do not justify vendoring googleapis protos.
/// </summary>
internal static class RpcStatus
{
    private const string RetryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo";

    public static byte[] ToProtobuf(int code, string message, Any? detail = null)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        if (code != 0)
        {
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteInt32(code);
        }

        if (message.Length > 0)
        {
            output.WriteTag(2, WireFormat.WireType.LengthDelimited);
            output.WriteString(message);
        }

        if (detail is not null)
        {
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteMessage(detail);
        }

        output.Flush();
        return buffer.ToArray();
    }

    /// <summary>The JSON form of google.rpc.Status without details: <c>{"code":3,"message":"..."}</c>.</summary>
    public static byte[] ToJson(int code, string message)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", code);
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>An Any holding google.rpc.RetryInfo, as OTLP clients read it from grpc-status-details-bin.</summary>
    public static Any RetryInfo(TimeSpan delay)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(Duration.FromTimeSpan(delay));
        output.Flush();
        return new Any { TypeUrl = RetryInfoTypeUrl, Value = ByteString.CopyFrom(buffer.ToArray()) };
    }
}
