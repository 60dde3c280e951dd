using System.Buffers;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using Grpc.Core;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Shared;

/// <summary>The partial_success of an Export*ServiceResponse, whatever the signal.</summary>
internal readonly record struct PartialSuccess(long Rejected, string? ErrorMessage)
{
    public static PartialSuccess None => default;

    public ExportResult ToResult() =>
        Rejected > 0 || !string.IsNullOrEmpty(ErrorMessage)
            ? ExportResult.Partial(Rejected, string.IsNullOrEmpty(ErrorMessage) ? "partial_success without a message" : ErrorMessage)
            : ExportResult.Success;
}

/// <summary>
/// What the OTLP exporters need per signal beyond <see cref="SignalOps{T}"/>: the HTTP path, the
/// response type (for partial_success) and the gRPC service.
/// </summary>
internal abstract class OtlpSignal<T>
    where T : class, IMessage<T>
{
    public static OtlpSignal<T> Instance { get; } = Create();

    /// <summary>Path appended to otlphttp's base endpoint ("v1/traces").</summary>
    public abstract string HttpPath { get; }

    /// <summary>Reads partial_success from a response body in the response's encoding.</summary>
    public abstract PartialSuccess ParseResponse(ReadOnlySpan<byte> body, bool json);

    /// <summary>
    /// The Export call of the signal's gRPC service on <paramref name="invoker"/>, sending encoded
    /// requests as they are: a still-encoded batch's segments, or a decoded batch serialised once.
    /// </summary>
    public Func<IReadOnlyList<ReadOnlyMemory<byte>>, CallOptions, Task<PartialSuccess>> CreateGrpcExport(CallInvoker invoker)
    {
        var requestMarshaller = Marshallers.Create<IReadOnlyList<ReadOnlyMemory<byte>>>(
            static (segments, context) =>
            {
                context.SetPayloadLength(Batch<T>.LengthOf(segments));
                var writer = context.GetBufferWriter();
                for (var i = 0; i < segments.Count; i++)
                {
                    writer.Write(segments[i].Span);
                }

                context.Complete();
            },
            static _ => throw new NotSupportedException("the exporter never reads requests"));
        var responseMarshaller = Marshallers.Create(static (byte[] bytes) => bytes, static bytes => bytes);
        var method = new Method<IReadOnlyList<ReadOnlyMemory<byte>>, byte[]>(MethodType.Unary, GrpcServiceName, "Export", requestMarshaller, responseMarshaller);
        return async (segments, options) => ParseResponse(await invoker.AsyncUnaryCall(method, null, options, segments), json: false);
    }

    /// <summary>Full name of the signal's gRPC service.</summary>
    protected abstract string GrpcServiceName { get; }

    private static OtlpSignal<T> Create() =>
        (OtlpSignal<T>)SignalOps<T>.Select<object>(() => new TracesSignal(), () => new MetricsSignal(), () => new LogsSignal());

    protected static TResponse Parse<TResponse>(ReadOnlySpan<byte> body, bool json, MessageParser<TResponse> parser)
        where TResponse : IMessage<TResponse>, new() =>
        json ? OtlpJson.Parse(body, parser) : parser.ParseFrom(body);
}

internal sealed class TracesSignal : OtlpSignal<ResourceSpans>
{
    protected override string GrpcServiceName => TraceService.Descriptor.FullName;

    public override string HttpPath => "v1/traces";

    public override PartialSuccess ParseResponse(ReadOnlySpan<byte> body, bool json) =>
        Parse(body, json, ExportTraceServiceResponse.Parser).PartialSuccess is { } p ? new(p.RejectedSpans, p.ErrorMessage) : PartialSuccess.None;
}

internal sealed class MetricsSignal : OtlpSignal<ResourceMetrics>
{
    protected override string GrpcServiceName => MetricsService.Descriptor.FullName;

    public override string HttpPath => "v1/metrics";

    public override PartialSuccess ParseResponse(ReadOnlySpan<byte> body, bool json) =>
        Parse(body, json, ExportMetricsServiceResponse.Parser).PartialSuccess is { } p ? new(p.RejectedDataPoints, p.ErrorMessage) : PartialSuccess.None;
}

internal sealed class LogsSignal : OtlpSignal<ResourceLogs>
{
    protected override string GrpcServiceName => LogsService.Descriptor.FullName;

    public override string HttpPath => "v1/logs";

    public override PartialSuccess ParseResponse(ReadOnlySpan<byte> body, bool json) =>
        Parse(body, json, ExportLogsServiceResponse.Parser).PartialSuccess is { } p ? new(p.RejectedLogRecords, p.ErrorMessage) : PartialSuccess.None;
}
