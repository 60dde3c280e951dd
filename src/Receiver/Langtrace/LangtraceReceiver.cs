using System.Text.Json;
using Collector.Pipeline;
using Collector.Pipeline.Configuration.Common;
using Collector.Receiver.Hosting;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using OpenTelemetry.Proto.Trace.V1;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Langtrace;

/// <summary>
/// The <c>langtrace</c> receiver: Langtrace's ingestion route on its own endpoint, so that an app
/// whose Langtrace SDK points at the collector (LANGTRACE_API_HOST) is traced into every pipeline
/// that lists this receiver. Accepts <c>POST /api/trace</c> and, for the newer Python SDK that
/// appends it to any non-Langtrace host, <c>POST /v1/traces</c>; bodies are OTLP protobuf (content
/// type exactly application/x-protobuf, as Langtrace's server decides) or JSON (OTLP/JSON object or
/// the SDKs' legacy span arrays, <see cref="LangtraceRequestDecoder"/>). Replies as Langtrace does.
/// Decoded spans go through the receivers' shared OTLP submission path (id checks, fan-out, backpressure, counters).
/// </summary>
internal sealed class LangtraceReceiver : IReceiver
{
    private const string ProtobufContentType = "application/x-protobuf";

    private static readonly byte[] Accepted = JsonObject("message", "Traces added successfully");

    private readonly LangtraceReceiverConfig _config;
    private readonly ILogger _logger;
    private readonly string _configPath;
    private readonly OtlpSignalHandler<ResourceSpans> _traces;
    private readonly BearerTokenAuthenticator? _keys;
    private readonly RejectionCounter _rejections;
    private readonly ClientDisconnects _disconnects;
    private readonly int _maxBodyBytes;
    private readonly ServerSet _servers = new("langtrace");
    private HttpServerHost? _server;

    public LangtraceReceiver(ComponentContext context, LangtraceReceiverConfig config, ReceiverTargets targets)
    {
        _config = config;
        _configPath = $"receivers.{context.Id}";
        _logger = context.Logger.ForContext("component", context.Id.ToString());
        _traces = OtlpSignalHandlers.Traces(context, _logger, targets.Traces, servesGrpc: false);
        _keys = config.ApiKeys.Count > 0 ? new BearerTokenAuthenticator(config.ApiKeys) : null;
        _rejections = new RejectionCounter(context.Metrics, context.Id);
        _disconnects = new ClientDisconnects(_logger, _rejections);
        _maxBodyBytes = config.MaxRequestBodySizeMib * SizeLimit.BytesPerMib;
    }

    /// <summary>The bound port once started (useful with port 0), else null.</summary>
    public int? Port => _server?.Port;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = new HttpServerOptions
        {
            Endpoint = _config.Endpoint,
            ConfigPath = _configPath,
            Logger = _logger,
            // The wire size is capped too: a compressed body larger than the decompressed limit is never legitimate.
            MaxRequestBodySize = _maxBodyBytes,
            MinRequestBodyDataRate = _config.MinBodyRate.ToKestrel(),
            ConfigureApp = app => app.Run(HandleAsync),
        };
        _server = (await _servers.StartAsync([new ServerSpec(server, _config.Tls)], cancellationToken).ConfigureAwait(false))[0];
        _logger.Information("Langtrace /api/trace listening on {Endpoint} (port {Port})", _config.Endpoint, _server.Port);
    }

    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        _server = null;
        await _servers.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            await HandleCoreAsync(context).ConfigureAwait(false);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && !DoorFailures.IsResourceExhaustion(e))
        {
            // The client went away (cancelled read or write, reset connection); nobody is left to answer.
            _disconnects.Record(context, Transport.Http, e);
        }
        catch (Exception e) when (DoorFailures.IsResourceExhaustion(e))
        {
            // Reading, decoding or handing on the request ran out of memory: the SDK retries later.
            if (!context.Response.HasStarted)
            {
                DoorFailures.SetRetryAfter(context.Response, DoorFailures.RetryAfter);
                await RejectAsync(context, StatusCodes.Status503ServiceUnavailable, DoorFailures.OutOfMemoryReason, DoorFailures.OutOfMemoryMessage).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            _logger.Error(e, "Unexpected error handling a Langtrace request");
            if (!context.Response.HasStarted)
            {
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "internal error").ConfigureAwait(false);
            }
        }
    }

    private async Task HandleCoreAsync(HttpContext context)
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        if (request.Path.Value is not ("/api/trace" or "/api/trace/" or "/v1/traces"))
        {
            await RejectAsync(context, StatusCodes.Status404NotFound, "not_found", "unknown path; use POST /api/trace").ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await RejectAsync(context, StatusCodes.Status405MethodNotAllowed, "method_not_allowed", $"method {request.Method} not allowed, use POST").ConfigureAwait(false);
            return;
        }

        // Checked before the body is read (Langtrace's server reads first): a caller without a key costs nothing.
        if (_keys is not null)
        {
            var key = request.Headers["x-api-key"];
            if (key.Count == 0 || string.IsNullOrEmpty(key[0]))
            {
                await RejectAsync(context, StatusCodes.Status400BadRequest, "unauthenticated", "api key is required").ConfigureAwait(false);
                return;
            }

            if (key.Count != 1 || !_keys.IsKnownToken(key[0].AsSpan().Trim()))
            {
                await RejectAsync(context, StatusCodes.Status401Unauthorized, "unauthenticated", "Unauthorized. Invalid API key").ConfigureAwait(false);
                return;
            }
        }

        var read = await RequestBody.ReadAsync(request, _maxBodyBytes).ConfigureAwait(false);
        switch (read.Status)
        {
            case BodyReadStatus.UnsupportedEncoding:
                await RejectAsync(context, StatusCodes.Status415UnsupportedMediaType, "bad_content_encoding", "unsupported content encoding; use gzip, deflate or identity").ConfigureAwait(false);
                return;
            case BodyReadStatus.Unreadable:
                await RejectAsync(context, StatusCodes.Status400BadRequest, "decode", "request body could not be read or decompressed").ConfigureAwait(false);
                return;
            case BodyReadStatus.TooSlow:
                await RejectAsync(context, StatusCodes.Status408RequestTimeout, "too_slow", "request body arrived slower than the minimum data rate").ConfigureAwait(false);
                return;
            case BodyReadStatus.TooLarge:
                await RejectAsync(context, StatusCodes.Status413PayloadTooLarge, "too_large", $"request body exceeds {_maxBodyBytes} bytes after decompression").ConfigureAwait(false);
                return;
        }

        Google.Protobuf.Collections.RepeatedField<ResourceSpans> resources;
        long byteSize;
        using (var bytes = read.Body!.Value)
        {
            byteSize = bytes.Length;
            try
            {
                resources = IsProtobuf(request.ContentType)
                    ? SignalOps<ResourceSpans>.Instance.ParseRequest(bytes.Span)
                    : LangtraceRequestDecoder.DecodeJson(bytes.Span);
            }
            catch (Exception e) when (e is InvalidDataException or InvalidProtocolBufferException)
            {
                // Nesting beyond OtlpLimits.MaxMessageDepth is refused here (too_deep), not after a spool replay.
                var (reason, message) = DoorFailures.Undecodable("trace", e);
                await RejectAsync(context, StatusCodes.Status400BadRequest, reason, message).ConfigureAwait(false);
                return;
            }
        }

        var outcome = await _traces.ExportAsync(resources, byteSize, context.Connection.RemoteIpAddress?.ToString(), Transport.Http, ct).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case ExportStatus.Refused:
                DoorFailures.SetRetryAfter(context.Response, outcome.RetryAfter);
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, outcome.Message ?? "pipeline is full").ConfigureAwait(false);
                return;
            case ExportStatus.Failed:
                await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "internal error").ConfigureAwait(false);
                return;
        }

        await WriteAsync(context, StatusCodes.Status200OK, Accepted).ConfigureAwait(false);
    }

    /// <summary>Langtrace's server compares the content type exactly; parameters are tolerated here.</summary>
    private static bool IsProtobuf(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && parsed.MediaType.Equals(ProtobufContentType, StringComparison.OrdinalIgnoreCase);

    private Task RejectAsync(HttpContext context, int status, string reason, string message)
    {
        _rejections.Count(Transport.Http, reason);
        _logger.Debug("Rejected Langtrace request {Method} {Path} from {Client}: {Status} {Message}", context.Request.Method, context.Request.Path.Value, context.Connection.RemoteIpAddress, status, message);
        return WriteErrorAsync(context, status, message);
    }

    /// <summary>Errors as Langtrace writes them: {"error": "..."}.</summary>
    private static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, JsonObject("error", message));

    private static byte[] JsonObject(string name, string value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + value.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(name, value);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static async Task WriteAsync(HttpContext context, int status, byte[] payload)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = payload.Length;
        await response.Body.WriteAsync(payload, context.RequestAborted).ConfigureAwait(false);
    }
}
