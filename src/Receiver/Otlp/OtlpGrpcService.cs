using System.Buffers;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Receiver.Hosting;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using Status = Grpc.Core.Status;

namespace Collector.Receiver.Otlp;

/// <summary>
/// The gRPC side: TraceService/MetricsService/LogsService Export. The methods are bound through
/// an <see cref="IServiceMethodProvider{TService}"/> rather than the generated *ServiceBase classes
/// so that (1) an undecodable message is INVALID_ARGUMENT (the generated marshaller's parse error
/// would surface as UNKNOWN), (2) the exact wire size reaches the batch without re-measuring, and
/// (3) a signal no pipeline wants is simply not bound and answers UNIMPLEMENTED before its body is read.
/// </summary>
internal sealed class OtlpGrpcService
{
}

/// <summary>
/// An Export request and its decompressed wire size: either still encoded (scanned, valid, with
/// <paramref name="Items"/> items), decoded into <paramref name="Resources"/>, or refused while it
/// was read (<paramref name="Refusal"/>: the marshaller cannot answer, the call can).
/// </summary>
internal sealed record GrpcExportRequest<T>(RepeatedField<T>? Resources, byte[]? Encoded, int Items, long ByteSize, GrpcRefusal? Refusal = null);

/// <summary>A call refused at the door, with the reason it is counted under.</summary>
internal sealed record GrpcRefusal(StatusCode Code, string Reason, string Message)
{
    public static GrpcRefusal TooDeep(Signal signal) =>
        new(StatusCode.InvalidArgument, OtlpLimits.TooDeepReason, $"undecodable {signal.ToConfigName()} request: {OtlpLimits.TooDeepMessage}");

    public static GrpcRefusal OutOfMemory { get; } = new(StatusCode.Unavailable, DoorFailures.OutOfMemoryReason, DoorFailures.OutOfMemoryMessage);

    public RpcException ToException() => Code == StatusCode.Unavailable
        ? OtlpGrpcMethodProvider.Unavailable(Message, DoorFailures.RetryAfter)
        : new RpcException(new Status(Code, Message));
}

internal sealed class OtlpGrpcMethodProvider(
    OtlpSignalHandler<ResourceSpans> traces,
    OtlpSignalHandler<ResourceMetrics> metrics,
    OtlpSignalHandler<ResourceLogs> logs) : IServiceMethodProvider<OtlpGrpcService>
{
    private static readonly Marshaller<IMessage> ResponseMarshaller = Marshallers.Create<IMessage>(
        static (message, context) =>
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        static _ => throw new NotSupportedException("the receiver never reads responses"));

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<OtlpGrpcService> context)
    {
        Bind(context, traces);
        Bind(context, metrics);
        Bind(context, logs);
    }

    private static void Bind<T>(ServiceMethodProviderContext<OtlpGrpcService> context, OtlpSignalHandler<T> handler)
        where T : class, IMessage<T>
    {
        if (!handler.Enabled)
        {
            return;
        }

        var requestMarshaller = Marshallers.Create<GrpcExportRequest<T>>(
            static (_, _) => throw new NotSupportedException("the receiver never writes requests"),
            static context => Decode<T>(context));
        var method = new Method<GrpcExportRequest<T>, IMessage>(MethodType.Unary, handler.Codec.GrpcServiceName, "Export", requestMarshaller, ResponseMarshaller);
        context.AddUnaryMethod(method, [], (_, request, call) => ExportAsync(handler, request, call));
    }

    private static GrpcExportRequest<T> Decode<T>(DeserializationContext context)
        where T : class, IMessage<T>
    {
        var payload = context.PayloadAsReadOnlySequence();
        var ops = SignalOps<T>.Instance;
        try
        {
            // A well-formed request with valid ids is forwarded as received; anything else is decoded
            // (which reports the error or drops the invalid items as before).
            // Uninitialised: every byte is overwritten, and zeroing a large-object-heap request costs a pass over it.
            var bytes = GC.AllocateUninitializedArray<byte>(checked((int)payload.Length));
            payload.CopyTo(bytes);
            return OtlpWireScanner.Scan(ops.Signal, bytes, out var items) switch
            {
                OtlpScanResult.Valid => new GrpcExportRequest<T>(null, bytes, items, bytes.Length),
                OtlpScanResult.TooDeep => new GrpcExportRequest<T>(null, null, 0, bytes.Length, GrpcRefusal.TooDeep(ops.Signal)),
                _ => new GrpcExportRequest<T>(ops.ParseRequest(bytes), null, 0, bytes.Length),
            };
        }
        catch (InvalidProtocolBufferException e) when (OtlpLimits.IsTooDeep(e))
        {
            // The scan stopped at an earlier doubt; the parser found the depth.
            return new GrpcExportRequest<T>(null, null, 0, payload.Length, GrpcRefusal.TooDeep(ops.Signal));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"undecodable {ops.Signal.ToConfigName()} request: {e.Message}"));
        }
        catch (Exception e) when (DoorFailures.IsResourceExhaustion(e))
        {
            // Thrown here, grpc-dotnet would answer UNKNOWN, which SDKs do not retry.
            return new GrpcExportRequest<T>(null, null, 0, payload.Length, GrpcRefusal.OutOfMemory);
        }
    }

    /// <summary>UNAVAILABLE with RetryInfo in grpc-status-details-bin, as OTLP clients read the delay.</summary>
    internal static RpcException Unavailable(string message, TimeSpan delay)
    {
        var trailers = new Metadata
        {
            { "grpc-status-details-bin", RpcStatus.ToProtobuf((int)StatusCode.Unavailable, message, RpcStatus.RetryInfo(delay)) },
        };
        return new RpcException(new Status(StatusCode.Unavailable, message), trailers);
    }

    private static async Task<IMessage> ExportAsync<T>(OtlpSignalHandler<T> handler, GrpcExportRequest<T> request, ServerCallContext call)
        where T : class, IMessage<T>
    {
        var http = call.GetHttpContext();
        if (request.Refusal is { } refusal)
        {
            http.Items[OtlpGrpcMiddleware.RejectionReasonKey] = refusal.Reason;
            throw refusal.ToException();
        }

        var client = http.Connection.RemoteIpAddress?.ToString();
        ExportOutcome outcome;
        try
        {
            outcome = request.Encoded is { } encoded
                ? await handler.ExportEncodedAsync(encoded, request.Items, client, Transport.Grpc, call.CancellationToken).ConfigureAwait(false)
                : await handler.ExportAsync(request.Resources!, request.ByteSize, client, Transport.Grpc, call.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (DoorFailures.IsResourceExhaustion(e))
        {
            http.Items[OtlpGrpcMiddleware.RejectionReasonKey] = DoorFailures.OutOfMemoryReason;
            throw GrpcRefusal.OutOfMemory.ToException();
        }

        switch (outcome.Status)
        {
            case ExportStatus.Refused:
                var delay = outcome.RetryAfter > TimeSpan.Zero ? outcome.RetryAfter : TimeSpan.FromSeconds(1);
                throw Unavailable(outcome.Message ?? "pipeline is full", delay);
            case ExportStatus.Failed:
                throw new RpcException(new Status(StatusCode.Internal, "internal error"));
            default:
                return handler.CreateResponse(outcome);
        }
    }
}

/// <summary>
/// Bearer-token check before the message is read, and counting of rejected calls by their final
/// grpc-status (including grpc-dotnet's own RESOURCE_EXHAUSTED for oversized messages).
/// </summary>
internal sealed class OtlpGrpcMiddleware(BearerTokenAuthenticator? auth, RejectionCounter rejections, Serilog.ILogger logger)
{
    private readonly ClientDisconnects _disconnects = new(logger, rejections);

    /// <summary>HttpContext item naming the rejection reason when the status alone does not tell it (too_deep, out_of_memory).</summary>
    public const string RejectionReasonKey = "collector.rejection_reason";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (auth is not null && !auth.IsAuthorized(context.Request.Headers.Authorization))
        {
            RejectBeforeReading(context, StatusCode.Unauthenticated, "unauthenticated", "missing or invalid bearer token");
            return;
        }

        // The gRPC spec defines compressed-flag 0 and 1 only; grpc-dotnet would throw on any other
        // (UNKNOWN and an error stack trace). Peeked, not consumed: grpc-dotnet reads the frame again.
        // Not cancelled by RequestAborted (see RequestBody.ReadAsync): Kestrel ends the read when the stream goes.
        byte flag;
        try
        {
            var peek = await context.Request.BodyReader.ReadAtLeastAsync(1, CancellationToken.None).ConfigureAwait(false);
            flag = peek.Buffer.IsEmpty ? (byte)0 : peek.Buffer.FirstSpan[0];
            context.Request.BodyReader.AdvanceTo(peek.Buffer.Start);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && !DoorFailures.IsResourceExhaustion(e))
        {
            _disconnects.Record(context, Transport.Grpc, e);
            return;
        }

        if (flag > 1)
        {
            // As for a compression the server does not know (gRPC compression spec): UNIMPLEMENTED plus what it accepts.
            context.Response.Headers["grpc-accept-encoding"] = "identity,gzip";
            RejectBeforeReading(context, StatusCode.Unimplemented, "bad_content_encoding", $"message compressed-flag {flag} is neither 0 (identity) nor 1 (grpc-encoding)");
            return;
        }

        await next(context).ConfigureAwait(false);
        var reason = context.Items.TryGetValue(RejectionReasonKey, out var set) && set is string named ? named : ReasonOf(StatusOf(context));
        if (reason is not null)
        {
            rejections.Count(Transport.Grpc, reason);
        }
    }

    /// <summary>A trailers-only response: the status travels in the headers and no message is read.</summary>
    private void RejectBeforeReading(HttpContext context, StatusCode code, string reason, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = message;
        rejections.Count(Transport.Grpc, reason);
        logger.Debug("Rejected OTLP/gRPC call {Path} from {Client}: {Code} {Message}", context.Request.Path.Value, context.Connection.RemoteIpAddress, code, message);
    }

    private static string? StatusOf(HttpContext context)
    {
        string? status = context.Response.Headers["grpc-status"];
        if (status is null && context.Features.Get<IHttpResponseTrailersFeature>() is { } trailers)
        {
            status = trailers.Trailers["grpc-status"];
        }

        return status;
    }

    private static string? ReasonOf(string? status) => status switch
    {
        "3" => "decode",
        "8" => "too_large",
        "12" => "not_found",
        _ => null,
    };
}
