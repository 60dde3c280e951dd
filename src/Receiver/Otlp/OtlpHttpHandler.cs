using Collector.Pipeline;
using Collector.Receiver.Hosting;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Otlp;

/// <summary>
/// OTLP/HTTP: <c>POST /v1/traces|/v1/metrics|/v1/logs</c> with protobuf or JSON bodies. Errors
/// carry a google.rpc.Status in the request's encoding (text/plain when that is unknown).
/// </summary>
internal sealed class OtlpHttpHandler
{
    private const string ProtobufContentType = "application/x-protobuf";
    private const string JsonContentType = "application/json";

    private readonly OtlpSignalHandler<ResourceSpans> _traces;
    private readonly OtlpSignalHandler<ResourceMetrics> _metrics;
    private readonly OtlpSignalHandler<ResourceLogs> _logs;
    private readonly BearerTokenAuthenticator? _auth;
    private readonly int _maxBodyBytes;
    private readonly RejectionCounter _rejections;
    private readonly ClientDisconnects _disconnects;
    private readonly ILogger _logger;

    public OtlpHttpHandler(
        OtlpSignalHandler<ResourceSpans> traces,
        OtlpSignalHandler<ResourceMetrics> metrics,
        OtlpSignalHandler<ResourceLogs> logs,
        BearerTokenAuthenticator? auth,
        int maxBodyBytes,
        RejectionCounter rejections,
        ILogger logger)
    {
        _traces = traces;
        _metrics = metrics;
        _logs = logs;
        _auth = auth;
        _maxBodyBytes = maxBodyBytes;
        _rejections = rejections;
        _disconnects = new ClientDisconnects(logger, rejections);
        _logger = logger;
    }

    private enum BodyFormat
    {
        Unknown,
        Protobuf,
        Json,
    }

    public async Task HandleAsync(HttpContext context)
    {
        try
        {
            // Before the path is looked at: which signals are served is the layout, not for strangers.
            if (_auth is not null && !_auth.IsAuthorized(context.Request.Headers.Authorization))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await RejectAsync(context, StatusCodes.Status401Unauthorized, StatusCode.Unauthenticated, "unauthenticated", "missing or invalid bearer token", FormatOf(context.Request.ContentType)).ConfigureAwait(false);
                return;
            }

            var task = context.Request.Path.Value switch
            {
                "/v1/traces" => HandleAsync(context, _traces),
                "/v1/metrics" => HandleAsync(context, _metrics),
                "/v1/logs" => HandleAsync(context, _logs),
                _ => RejectAsync(context, StatusCodes.Status404NotFound, StatusCode.NotFound, "not_found", "unknown path; use /v1/traces, /v1/metrics or /v1/logs", BodyFormat.Unknown),
            };
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && !DoorFailures.IsResourceExhaustion(e))
        {
            // The client went away (cancelled read or write, reset connection); nobody is left to answer.
            _disconnects.Record(context, Transport.Http, e);
        }
        catch (Exception e) when (DoorFailures.IsResourceExhaustion(e))
        {
            // Reading, decoding or handing on the request ran out of memory: the client retries later.
            if (!context.Response.HasStarted)
            {
                DoorFailures.SetRetryAfter(context.Response, DoorFailures.RetryAfter);
                await RejectAsync(context, StatusCodes.Status503ServiceUnavailable, StatusCode.Unavailable, DoorFailures.OutOfMemoryReason, DoorFailures.OutOfMemoryMessage, FormatOf(context.Request.ContentType)).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            _logger.Error(e, "Unexpected error handling an OTLP/HTTP request");
            if (!context.Response.HasStarted)
            {
                await WriteStatusAsync(context, StatusCodes.Status500InternalServerError, StatusCode.Internal, "internal error", BodyFormat.Unknown).ConfigureAwait(false);
            }
        }
    }

    private async Task HandleAsync<T>(HttpContext context, OtlpSignalHandler<T> handler)
        where T : class, IMessage<T>
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        var format = FormatOf(request.ContentType);
        var signal = OtlpSignalHandler<T>.Signal.ToConfigName();
        if (!handler.Enabled)
        {
            await RejectAsync(context, StatusCodes.Status404NotFound, StatusCode.Unimplemented, "not_found", $"no {signal} pipeline uses this receiver", format).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await RejectAsync(context, StatusCodes.Status405MethodNotAllowed, StatusCode.Unimplemented, "method_not_allowed", $"method {request.Method} not allowed, use POST", format).ConfigureAwait(false);
            return;
        }

        if (format == BodyFormat.Unknown)
        {
            await RejectAsync(context, StatusCodes.Status415UnsupportedMediaType, StatusCode.InvalidArgument, "bad_content_type", $"unsupported content type; use {ProtobufContentType} or {JsonContentType}", format).ConfigureAwait(false);
            return;
        }

        var read = await RequestBody.ReadAsync(request, _maxBodyBytes).ConfigureAwait(false);
        switch (read.Status)
        {
            case BodyReadStatus.UnsupportedEncoding:
                await RejectAsync(context, StatusCodes.Status415UnsupportedMediaType, StatusCode.InvalidArgument, "bad_content_encoding", "unsupported content encoding; use gzip, deflate or identity", format).ConfigureAwait(false);
                return;
            case BodyReadStatus.Unreadable:
                await RejectAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, "decode", "request body could not be read or decompressed", format).ConfigureAwait(false);
                return;
            case BodyReadStatus.TooSlow:
                await RejectAsync(context, StatusCodes.Status408RequestTimeout, StatusCode.DeadlineExceeded, "too_slow", "request body arrived slower than the minimum data rate", format).ConfigureAwait(false);
                return;
        }

        if (read.Body is not { } bytes)
        {
            await RejectAsync(context, StatusCodes.Status413PayloadTooLarge, StatusCode.ResourceExhausted, "too_large", $"request body exceeds {_maxBodyBytes} bytes after decompression", format).ConfigureAwait(false);
            return;
        }

        Google.Protobuf.Collections.RepeatedField<T>? resources = null;
        byte[]? encoded = null;
        var scannedItems = 0;
        long byteSize;
        using (bytes)
        {
            byteSize = bytes.Length;
            var scan = format == BodyFormat.Protobuf ? Pipeline.Otlp.OtlpWireScanner.Scan(SignalOps<T>.Instance.Signal, bytes.Span, out scannedItems) : Pipeline.Otlp.OtlpScanResult.Doubtful;
            if (scan == Pipeline.Otlp.OtlpScanResult.TooDeep)
            {
                await RejectAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, Pipeline.Otlp.OtlpLimits.TooDeepReason, $"undecodable {signal} request: {Pipeline.Otlp.OtlpLimits.TooDeepMessage}", format).ConfigureAwait(false);
                return;
            }

            if (scan == Pipeline.Otlp.OtlpScanResult.Valid)
            {
                // Well formed with valid ids: forwarded as bytes, as over gRPC (an owned copy: the read buffer is pooled).
                encoded = GC.AllocateUninitializedArray<byte>(bytes.Length);
                bytes.Span.CopyTo(encoded);
            }
            else
            {
                try
                {
                    resources = format == BodyFormat.Json
                        ? handler.Codec.DecodeJson(bytes.Span)
                        : SignalOps<T>.Instance.ParseRequest(bytes.Span);
                }
                catch (Exception e) when (e is InvalidDataException or InvalidProtocolBufferException)
                {
                    var (reason, message) = DoorFailures.Undecodable(signal, e);
                    await RejectAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, reason, message, format).ConfigureAwait(false);
                    return;
                }
            }
        }

        var client = context.Connection.RemoteIpAddress?.ToString();
        var outcome = encoded is not null
            ? await handler.ExportEncodedAsync(encoded, scannedItems, client, Transport.Http, ct).ConfigureAwait(false)
            : await handler.ExportAsync(resources!, byteSize, client, Transport.Http, ct).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case ExportStatus.Refused:
                DoorFailures.SetRetryAfter(context.Response, outcome.RetryAfter);
                await WriteStatusAsync(context, StatusCodes.Status503ServiceUnavailable, StatusCode.Unavailable, outcome.Message ?? "pipeline is full", format).ConfigureAwait(false);
                return;
            case ExportStatus.Failed:
                await WriteStatusAsync(context, StatusCodes.Status500InternalServerError, StatusCode.Internal, "internal error", format).ConfigureAwait(false);
                return;
        }

        var response = handler.CreateResponse(outcome);
        var payload = format == BodyFormat.Json ? Pipeline.Otlp.OtlpJson.FormatUtf8(response) : response.ToByteArray();
        await WriteAsync(context, StatusCodes.Status200OK, format == BodyFormat.Json ? JsonContentType : ProtobufContentType, payload).ConfigureAwait(false);
    }

    private Task RejectAsync(HttpContext context, int httpStatus, StatusCode rpcCode, string reason, string message, BodyFormat format)
    {
        _rejections.Count(Transport.Http, reason);
        _logger.Debug("Rejected OTLP/HTTP request {Method} {Path} from {Client}: {Status} {Message}", context.Request.Method, context.Request.Path.Value, context.Connection.RemoteIpAddress, httpStatus, message);
        return WriteStatusAsync(context, httpStatus, rpcCode, message, format);
    }

    private static Task WriteStatusAsync(HttpContext context, int httpStatus, StatusCode rpcCode, string message, BodyFormat format) => format switch
    {
        BodyFormat.Protobuf => WriteAsync(context, httpStatus, ProtobufContentType, RpcStatus.ToProtobuf((int)rpcCode, message)),
        BodyFormat.Json => WriteAsync(context, httpStatus, JsonContentType, RpcStatus.ToJson((int)rpcCode, message)),
        _ => WriteAsync(context, httpStatus, "text/plain; charset=utf-8", System.Text.Encoding.UTF8.GetBytes(message)),
    };

    private static async Task WriteAsync(HttpContext context, int httpStatus, string contentType, byte[] payload)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = contentType;
        response.ContentLength = payload.Length;
        await response.Body.WriteAsync(payload, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Media type only; parameters such as charset are ignored.</summary>
    private static BodyFormat FormatOf(string? contentType)
    {
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return BodyFormat.Unknown;
        }

        var media = parsed.MediaType;
        if (media.Equals(ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            return BodyFormat.Protobuf;
        }

        return media.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase) ? BodyFormat.Json : BodyFormat.Unknown;
    }
}
