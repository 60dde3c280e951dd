using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Hosting;

internal enum Transport
{
    Grpc,
    Http,
}

internal enum ExportStatus
{
    Accepted,

    /// <summary>A pipeline refused (backpressure, or the collector ran out of memory taking it): the client should retry later.</summary>
    Refused,

    /// <summary>A pipeline threw; a bug, logged, answered as an internal error.</summary>
    Failed,
}

/// <summary>What became of one client request.</summary>
internal readonly record struct ExportOutcome(ExportStatus Status, long Rejected, string? Message, TimeSpan RetryAfter = default);

/// <summary>The submission path of each signal, as every receiver that delivers OTLP data builds it.</summary>
internal static class OtlpSignalHandlers
{
    /// <param name="servesGrpc">False for an HTTP-only receiver (langtrace): no <c>transport="grpc"</c> series that could never move.</param>
    public static OtlpSignalHandler<ResourceSpans> Traces(ComponentContext context, ILogger logger, IReadOnlyList<IPipelineEntry<ResourceSpans>> entries, bool servesGrpc = true) =>
        new(context.Id, context.Metrics, logger, entries, OtlpSignalCodecs.Traces, servesGrpc);

    public static OtlpSignalHandler<ResourceMetrics> Metrics(ComponentContext context, ILogger logger, IReadOnlyList<IPipelineEntry<ResourceMetrics>> entries) =>
        new(context.Id, context.Metrics, logger, entries, OtlpSignalCodecs.Metrics);

    public static OtlpSignalHandler<ResourceLogs> Logs(ComponentContext context, ILogger logger, IReadOnlyList<IPipelineEntry<ResourceLogs>> entries) =>
        new(context.Id, context.Metrics, logger, entries, OtlpSignalCodecs.Logs);
}

/// <summary>
/// The transport-independent half of the receiver for one signal: drops items with invalid ids
/// (reported as partial success), hands the request to every pipeline that lists this receiver,
/// and counts what was accepted or refused.
/// </summary>
internal sealed class OtlpSignalHandler<T>
    where T : class, IMessage<T>
{
    private readonly IReadOnlyList<IPipelineEntry<T>> _entries;
    private readonly OtlpSignalCodec<T> _codec;
    private readonly ILogger _logger;
    private readonly TransportCounters[] _counters;
    private readonly LogLimiter _exhaustionLog = new(TimeSpan.FromSeconds(10), maxKeys: 16);

    public OtlpSignalHandler(ComponentId receiver, SelfMetrics metrics, ILogger logger, IReadOnlyList<IPipelineEntry<T>> entries, OtlpSignalCodec<T> codec, bool servesGrpc = true)
    {
        _entries = entries;
        _codec = codec;
        _logger = logger;
        // Indexed by Transport. An HTTP-only receiver registers no grpc series; its grpc slot is never read.
        _counters = [servesGrpc ? new(metrics, receiver, Signal, "grpc") : null!, new(metrics, receiver, Signal, "http")];
    }

    public static Signal Signal => SignalOps<T>.Instance.Signal;

    public OtlpSignalCodec<T> Codec => _codec;

    /// <summary>False when no pipeline lists this receiver for the signal: its endpoints answer UNIMPLEMENTED / 404.</summary>
    public bool Enabled => _entries.Count > 0;

    /// <summary>The signal's Export*ServiceResponse, with partial_success when items were rejected.</summary>
    public IMessage CreateResponse(in ExportOutcome outcome) => _codec.CreateResponse(outcome.Rejected, outcome.Message ?? string.Empty);

    /// <summary>Takes ownership of <paramref name="resources"/>.</summary>
    public async ValueTask<ExportOutcome> ExportAsync(RepeatedField<T> resources, long byteSize, string? clientAddress, Transport transport, CancellationToken cancellationToken)
    {
        var counters = _counters[(int)transport];
        var rejected = _codec.DropInvalid(resources);
        string? rejectMessage = null;
        if (rejected > 0)
        {
            counters.Invalid.Add(rejected);
            rejectMessage = $"{rejected} {Signal.ItemName().Replace('_', ' ')} dropped: {_codec.InvalidReason}";
            _logger.Debug("Dropped {Count} {Items} with invalid ids from {Client}", rejected, Signal.ItemName(), clientAddress);
        }

        var items = SignalOps<T>.Instance.CountItems(resources);
        return await SubmitAsync(
            new BatchSource(resources, null, items, byteSize, clientAddress), counters, rejected, rejectMessage, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A request the wire scanner found well formed with valid ids: it travels encoded; <paramref name="request"/> is never written.</summary>
    public ValueTask<ExportOutcome> ExportEncodedAsync(byte[] request, int items, string? clientAddress, Transport transport, CancellationToken cancellationToken) =>
        SubmitAsync(new BatchSource(null, request, items, request.Length, clientAddress), _counters[(int)transport], 0, null, cancellationToken);

    private async ValueTask<ExportOutcome> SubmitAsync(BatchSource source, TransportCounters counters, long rejected, string? rejectMessage, CancellationToken cancellationToken)
    {
        var items = source.Items;
        if (items == 0)
        {
            return new ExportOutcome(ExportStatus.Accepted, rejected, rejectMessage);
        }

        // Every pipeline submission is attempted, as the OpenTelemetry Collector's fan-out does; a
        // refusal by any of them makes the client retry the whole request.
        var status = ExportStatus.Accepted;
        string? refusal = null;
        var retryAfter = TimeSpan.Zero;
        for (var i = 0; i < _entries.Count; i++)
        {
            var last = i == _entries.Count - 1;
            var batch = source.Create(last);
            SubmitResult result;
            try
            {
                result = await _entries[i].SubmitAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (DoorFailures.IsResourceExhaustion(e))
            {
                // Out of memory is never the data's fault: the client retries, nothing is dropped as permanent.
                if (_exhaustionLog.TryLog(e.GetType().Name, out var suppressed))
                {
                    _logger.Warning("A {Signal} pipeline ran out of memory taking a request ({Exception}); answered retry later ({Suppressed} more since the last line)", Signal.ToConfigName(), e.GetType().Name, suppressed);
                }

                if (status == ExportStatus.Accepted)
                {
                    status = ExportStatus.Refused;
                }

                refusal ??= DoorFailures.OutOfMemoryMessage;
                retryAfter = retryAfter > DoorFailures.RetryAfter ? retryAfter : DoorFailures.RetryAfter;
                continue;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _logger.Error(e, "A {Signal} pipeline failed to take a request", Signal.ToConfigName());
                status = ExportStatus.Failed;
                continue;
            }

            if (result.Status == SubmitStatus.Refused)
            {
                if (status == ExportStatus.Accepted)
                {
                    status = ExportStatus.Refused;
                }

                refusal ??= result.Reason;
                if (result.RetryAfter > retryAfter)
                {
                    retryAfter = result.RetryAfter;
                }
            }
        }

        if (status == ExportStatus.Accepted)
        {
            counters.Accepted.Add(items);
            return new ExportOutcome(ExportStatus.Accepted, rejected, rejectMessage);
        }

        counters.Refused.Add(items);
        if (status == ExportStatus.Refused)
        {
            _logger.Debug("Refused {Count} {Items}: {Reason}", items, Signal.ItemName(), refusal);
        }

        return new ExportOutcome(status, rejected, refusal ?? "pipeline refused the data", retryAfter);
    }

    /// <summary>One request, decoded or encoded, from which each pipeline gets its own batch.</summary>
    private readonly record struct BatchSource(RepeatedField<T>? Resources, byte[]? Encoded, int Items, long ByteSize, string? ClientAddress)
    {
        /// <summary>Encoded bytes are shared (never written); decoded resources are cloned for all but the last pipeline.</summary>
        public Batch<T> Create(bool last) => Encoded is not null
            ? Batch<T>.FromEncoded(Encoded, Items, ByteSize, ClientAddress)
            : new Batch<T>(last ? Resources! : Resources!.Clone(), Items, ByteSize, ClientAddress);
    }

    private sealed class TransportCounters(SelfMetrics metrics, ComponentId receiver, Signal signal, string transport)
    {
        public Counter Accepted { get; } = metrics.Counter(
            $"collector_receiver_accepted_{signal.ItemName()}_total",
            $"{signal.ItemName()} accepted by a receiver and handed to every pipeline",
            ("receiver", receiver.ToString()),
            ("transport", transport));

        public Counter Refused { get; } = metrics.Counter(
            $"collector_receiver_refused_{signal.ItemName()}_total",
            $"{signal.ItemName()} a pipeline refused (the client was told to retry)",
            ("receiver", receiver.ToString()),
            ("transport", transport));

        public Counter Invalid { get; } = metrics.Counter(
            $"collector_receiver_rejected_{signal.ItemName()}_total",
            $"{signal.ItemName()} dropped for invalid trace or span ids (reported as partial success)",
            ("receiver", receiver.ToString()),
            ("transport", transport));
    }
}
