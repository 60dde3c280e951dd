using Collector.Pipeline.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Receiver.Hosting;

internal delegate RepeatedField<T> JsonRequestDecoder<T>(ReadOnlySpan<byte> utf8Json);

/// <summary>The signal-specific bits the receiver needs beyond <see cref="Pipeline.SignalOps{T}"/>.</summary>
internal sealed class OtlpSignalCodec<T>
    where T : class, IMessage<T>
{
    public required string GrpcServiceName { get; init; }

    public required JsonRequestDecoder<T> DecodeJson { get; init; }

    /// <summary>Builds the Export*ServiceResponse; partial_success is set when rejected &gt; 0.</summary>
    public required Func<long, string, IMessage> CreateResponse { get; init; }

    /// <summary>Removes items the pipeline must never see (and the scopes and resources that leaves empty); returns how many were removed.</summary>
    public required Func<RepeatedField<T>, int> DropInvalid { get; init; }

    public string InvalidReason { get; init; } = string.Empty;
}

internal static class OtlpSignalCodecs
{
    public static OtlpSignalCodec<ResourceSpans> Traces { get; } = new()
    {
        GrpcServiceName = TraceService.Descriptor.FullName,
        DecodeJson = static json => OtlpJson.Parse(json, ExportTraceServiceRequest.Parser).ResourceSpans,
        CreateResponse = static (rejected, message) => rejected == 0
            ? new ExportTraceServiceResponse()
            : new ExportTraceServiceResponse { PartialSuccess = new() { RejectedSpans = rejected, ErrorMessage = message } },
        DropInvalid = OtlpTraces.RemoveWhere<InvalidSpan>,
        InvalidReason = "a span needs a 16-byte trace_id and an 8-byte span_id, neither all zeroes, and an empty or 8-byte parent_span_id",
    };

    public static OtlpSignalCodec<ResourceMetrics> Metrics { get; } = new()
    {
        GrpcServiceName = MetricsService.Descriptor.FullName,
        DecodeJson = static json => OtlpJson.Parse(json, ExportMetricsServiceRequest.Parser).ResourceMetrics,
        CreateResponse = static (rejected, message) => rejected == 0
            ? new ExportMetricsServiceResponse()
            : new ExportMetricsServiceResponse { PartialSuccess = new() { RejectedDataPoints = rejected, ErrorMessage = message } },
        DropInvalid = static _ => 0,
    };

    public static OtlpSignalCodec<ResourceLogs> Logs { get; } = new()
    {
        GrpcServiceName = LogsService.Descriptor.FullName,
        DecodeJson = static json => OtlpJson.Parse(json, ExportLogsServiceRequest.Parser).ResourceLogs,
        CreateResponse = static (rejected, message) => rejected == 0
            ? new ExportLogsServiceResponse()
            : new ExportLogsServiceResponse { PartialSuccess = new() { RejectedLogRecords = rejected, ErrorMessage = message } },
        DropInvalid = OtlpLogs.RemoveWhere<InvalidLogRecord>,
        InvalidReason = "a log record's trace_id must be empty or 16 bytes and its span_id empty or 8 bytes",
    };

    /// <summary>Spans that break the OTLP id rules; removed, emptied scopes and resources with them.</summary>
    private readonly struct InvalidSpan : IOtlpFilter<ResourceSpans, ScopeSpans, Span>
    {
        // trace.proto: an id of all zeroes is invalid, as is one of another length.
        public bool Remove(ResourceSpans resource, ScopeSpans scope, Span span) =>
            !(span.TraceId.Length == 16 && span.SpanId.Length == 8 && span.ParentSpanId.Length is 0 or 8
                && span.TraceId.Span.ContainsAnyExcept((byte)0) && span.SpanId.Span.ContainsAnyExcept((byte)0));
    }

    private readonly struct InvalidLogRecord : IOtlpFilter<ResourceLogs, ScopeLogs, LogRecord>
    {
        public bool Remove(ResourceLogs resource, ScopeLogs scope, LogRecord log) => !(log.TraceId.Length is 0 or 16 && log.SpanId.Length is 0 or 8);
    }
}
