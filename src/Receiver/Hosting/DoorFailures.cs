using System.Globalization;
using Collector.Pipeline.Otlp;
using Microsoft.AspNetCore.Http;

namespace Collector.Receiver.Hosting;

/// <summary>
/// How every receiver answers the two failures that are not a bug: a request nested deeper than
/// any protobuf parser reads (the client's data, refused for good: 400 / INVALID_ARGUMENT), and
/// running out of memory or stack while taking a request (the collector's state, never the
/// data's: 503 / UNAVAILABLE with a retry delay, so that the SDK sends it again).
/// </summary>
internal static class DoorFailures
{
    /// <summary>The reason label of <c>collector_receiver_rejected_requests_total</c> for a request refused for lack of memory.</summary>
    public const string OutOfMemoryReason = "out_of_memory";

    public const string OutOfMemoryMessage = "the collector is out of memory; retry later";

    /// <summary>As the pipeline door's refusals: the SDKs back off further on their own.</summary>
    public static TimeSpan RetryAfter { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Writes <c>Retry-After</c> in whole seconds, at least 1 (the header has no fractions; 0 would invite an immediate retry).</summary>
    public static void SetRetryAfter(HttpResponse response, TimeSpan delay) =>
        response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>An exception that says the collector, not the request, is at fault: answer "retry".</summary>
    public static bool IsResourceExhaustion(Exception exception) =>
        exception is OutOfMemoryException or InsufficientExecutionStackException;

    /// <summary>The rejection reason and client message of a request that did not decode.</summary>
    public static (string Reason, string Message) Undecodable(string signal, Exception error) => OtlpLimits.IsTooDeep(error)
        ? (OtlpLimits.TooDeepReason, $"undecodable {signal} request: {OtlpLimits.TooDeepMessage}")
        : ("decode", $"undecodable {signal} request: {error.Message}");
}
