using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Collector.Pipeline.Export;

/// <summary>
/// Reads the two things exporters need from an encoded <c>google.rpc.Status</c> (the gRPC
/// <c>grpc-status-details-bin</c> trailer, or an OTLP/HTTP error body): its message and the
/// <c>google.rpc.RetryInfo</c> detail. A hand-written parse of three fields, so the project does
/// not carry the google.rpc protos: Status { int32 code = 1; string message = 2; repeated
/// google.protobuf.Any details = 3; }, RetryInfo { google.protobuf.Duration retry_delay = 1; }.
/// </summary>
internal static class RpcStatusDetails
{
    public const string TrailerKey = "grpc-status-details-bin";

    private const string RetryInfoTypeSuffix = "/google.rpc.RetryInfo";
    private const int StatusMessageField = 2;
    private const int StatusDetailsField = 3;
    private const int RetryDelayField = 1;

    /// <summary>
    /// False when <paramref name="status"/> is not a parseable Status. <paramref name="hasRetryInfo"/>
    /// tells whether a RetryInfo detail is present; <paramref name="retryDelay"/> is its delay when it carries one.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> status, out string message, out bool hasRetryInfo, out TimeSpan? retryDelay)
    {
        message = string.Empty;
        hasRetryInfo = false;
        retryDelay = null;
        try
        {
            var input = new CodedInputStream(status.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                var field = WireFormat.GetTagFieldNumber(tag);
                var lengthDelimited = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
                if (field == StatusMessageField && lengthDelimited)
                {
                    message = input.ReadString();
                }
                else if (field == StatusDetailsField && lengthDelimited)
                {
                    var any = new Any();
                    input.ReadMessage(any);
                    if (any.TypeUrl.EndsWith(RetryInfoTypeSuffix, StringComparison.Ordinal))
                    {
                        hasRetryInfo = true;
                        retryDelay = ReadRetryDelay(any.Value) ?? retryDelay;
                    }
                }
                else
                {
                    input.SkipLastField();
                }
            }

            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static TimeSpan? ReadRetryDelay(ByteString retryInfo)
    {
        var input = retryInfo.CreateCodedInput();
        TimeSpan? delay = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == RetryDelayField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                var duration = new Duration();
                input.ReadMessage(duration);
                delay = ToDelay(duration);
            }
            else
            {
                input.SkipLastField();
            }
        }

        return delay;
    }

    /// <summary>Negative delays mean "now"; absurd ones are clamped rather than overflowing TimeSpan.</summary>
    private static TimeSpan ToDelay(Duration duration)
    {
        const long maxSeconds = 365L * 24 * 3600;
        if (duration.Seconds < 0 || (duration.Seconds == 0 && duration.Nanos <= 0))
        {
            return TimeSpan.Zero;
        }

        if (duration.Seconds >= maxSeconds)
        {
            return TimeSpan.FromSeconds(maxSeconds);
        }

        return TimeSpan.FromSeconds(duration.Seconds) + TimeSpan.FromTicks(Math.Max(0, duration.Nanos) / 100);
    }
}
