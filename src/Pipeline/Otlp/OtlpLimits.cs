using Google.Protobuf;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// Limits every OTLP decoder applies at the door (the wire scanner, the OTLP/JSON transcoder, the
/// Langtrace receiver's decoder), so that whatever a receiver accepts is read back by the protobuf
/// parser later: on spool replay, in an exporter, and by a peer collector.
/// </summary>
internal static class OtlpLimits
{
    /// <summary>
    /// Message levels below the Export*ServiceRequest, counted as Google.Protobuf counts them: its
    /// default recursion limit, which the C++, Java and Python parsers share. Not configurable:
    /// accepting deeper data only moves the refusal to a replay or a peer, after the client was told OK.
    /// Span attribute values (request, resource spans, scope spans, span, key value, any value = 5)
    /// hold at most 47 nested arrays or 31 nested kvlists below this.
    /// </summary>
    public const int MaxMessageDepth = 100;

    /// <summary>The reason label of <c>collector_receiver_rejected_requests_total</c> for such requests.</summary>
    public const string TooDeepReason = "too_deep";

    /// <summary>What a client is told; the same text from every decoder.</summary>
    public static string TooDeepMessage { get; } =
        $"messages nested deeper than {MaxMessageDepth} levels (protobuf's limit; for span attributes at most 47 nested arrays or 31 nested kvlists)";

    /// <summary>The refusal every decoder throws for nesting beyond <see cref="MaxMessageDepth"/>: invalid input, marked so that receivers count it apart.</summary>
    public static InvalidDataException TooDeep()
    {
        var exception = new InvalidDataException(TooDeepMessage);
        exception.Data[TooDeepReason] = true;
        return exception;
    }

    /// <summary>A nesting refusal from any decoder, including Google.Protobuf's own on the decode path.</summary>
    public static bool IsTooDeep(Exception exception) => exception switch
    {
        InvalidDataException e => e.Data.Contains(TooDeepReason),
        // Google.Protobuf's RecursionLimitExceeded has no type of its own; its text is fixed.
        InvalidProtocolBufferException e => e.Message.Contains("too many levels of nesting", StringComparison.Ordinal),
        _ => false,
    };
}
