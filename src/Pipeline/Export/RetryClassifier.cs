using System.Globalization;
using System.Net.Sockets;
using Grpc.Core;

namespace Collector.Pipeline.Export;

/// <summary>
/// The one place that decides whether a failed send is worth retrying, per the OTLP
/// specification: HTTP 429/502/503/504 retryable, every other 4xx/5xx permanent; gRPC
/// UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, ABORTED, OUT_OF_RANGE, DATA_LOSS retryable,
/// RESOURCE_EXHAUSTED only when the server attached RetryInfo, every other code permanent;
/// network errors retryable. Running out of memory or stack while sending is never permanent: it
/// says nothing about the batch, and the next attempt may find memory freed.
/// </summary>
internal static class RetryClassifier
{
    public static bool IsRetryableHttpStatus(int status) => status is 429 or 502 or 503 or 504;

    /// <summary>A non-2xx reply. <paramref name="detail"/> is a short server message, if any (never request headers).</summary>
    public static ExportResult FromHttpStatus(int status, TimeSpan? retryAfter, string? detail = null)
    {
        var error = string.IsNullOrEmpty(detail)
            ? string.Create(CultureInfo.InvariantCulture, $"HTTP {status}")
            : string.Create(CultureInfo.InvariantCulture, $"HTTP {status}: {detail}");
        return IsRetryableHttpStatus(status) ? ExportResult.Retryable(error, retryAfter) : ExportResult.Permanent(error);
    }

    /// <summary>Classifies a non-2xx response, reading its Retry-After header.</summary>
    public static ExportResult FromHttpResponse(HttpResponseMessage response, string? detail = null)
    {
        string? retryAfter = null;
        if (response.Headers.TryGetValues("Retry-After", out var values))
        {
            retryAfter = values.FirstOrDefault();
        }

        return FromHttpStatus((int)response.StatusCode, ParseRetryAfter(retryAfter, DateTimeOffset.UtcNow), detail);
    }

    /// <summary>Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3); null when absent or unreadable.</summary>
    public static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(365).TotalSeconds));
        }

        if (DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var delay = date - now;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }

        return null;
    }

    public static bool IsRetryableGrpcStatus(StatusCode code, bool hasRetryInfo) => code switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Aborted
            or StatusCode.OutOfRange or StatusCode.DataLoss => true,
        StatusCode.ResourceExhausted => hasRetryInfo,
        _ => false,
    };

    /// <summary>Classifies a gRPC status; the retry delay comes from RetryInfo in <paramref name="trailers"/> when present.</summary>
    public static ExportResult FromGrpcStatus(StatusCode code, string? detail, Metadata? trailers)
    {
        var hasRetryInfo = false;
        TimeSpan? retryDelay = null;
        var details = trailers?.GetValueBytes(RpcStatusDetails.TrailerKey);
        if (details is not null && RpcStatusDetails.TryParse(details, out _, out var found, out var delay))
        {
            hasRetryInfo = found;
            retryDelay = delay;
        }

        var error = string.IsNullOrEmpty(detail) ? $"gRPC {code}" : $"gRPC {code}: {detail}";
        return IsRetryableGrpcStatus(code, hasRetryInfo) ? ExportResult.Retryable(error, retryDelay) : ExportResult.Permanent(error);
    }

    /// <summary>A send that threw: gRPC statuses per the table above, transport failures and lack of memory retryable, anything else permanent.</summary>
    public static ExportResult FromException(Exception exception) => exception switch
    {
        OutOfMemoryException or InsufficientExecutionStackException => ExportResult.Retryable($"out of memory while sending ({exception.GetType().Name})"),
        // grpc-dotnet reports a call that never got a response because the connection failed with a
        // non-IO cause (a refused TLS handshake) as INTERNAL; like any transport failure it is retryable.
        RpcException { Status.DebugException: HttpRequestException } rpc => ExportResult.Retryable($"gRPC {rpc.StatusCode}: {rpc.Status.Detail}"),
        RpcException rpc => FromGrpcStatus(rpc.StatusCode, rpc.Status.Detail, rpc.Trailers),
        HttpRequestException or IOException or SocketException or TimeoutException or OperationCanceledException
            => ExportResult.Retryable(Describe(exception)),
        _ => ExportResult.Permanent(Describe(exception)),
    };

    /// <summary>With the inner exception: "The SSL connection could not be established, see inner exception" alone hides the cause.</summary>
    private static string Describe(Exception exception) => exception.InnerException is { } inner
        ? $"{exception.GetType().Name}: {exception.Message} {inner.GetType().Name}: {inner.Message}"
        : $"{exception.GetType().Name}: {exception.Message}";
}
