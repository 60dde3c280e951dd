using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Collector.Receiver.Otlp;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog;

namespace Collector.Tests.Receiver;

/// <summary>A started otlp receiver on 127.0.0.1:0 with recording pipelines, plus clients for it.</summary>
internal sealed class ReceiverHarness : IAsyncDisposable
{
    public const string ReceiverId = "otlp/test";

    private readonly Serilog.Core.Logger _logger;

    private ReceiverHarness(OtlpReceiver receiver, Serilog.Core.Logger logger, SelfMetrics metrics, CapturingSink logs, RecordingEntry<ResourceSpans> traces, RecordingEntry<ResourceMetrics> metricPoints, RecordingEntry<ResourceLogs> logRecords)
    {
        Receiver = receiver;
        _logger = logger;
        Metrics = metrics;
        Logs = logs;
        Traces = traces;
        MetricPoints = metricPoints;
        LogRecords = logRecords;
    }

    public RecordingEntry<ResourceSpans> Traces { get; }

    public RecordingEntry<ResourceMetrics> MetricPoints { get; }

    public RecordingEntry<ResourceLogs> LogRecords { get; }

    public SelfMetrics Metrics { get; }

    public CapturingSink Logs { get; }

    public OtlpReceiver Receiver { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(20) };

    public Uri HttpBase => new($"http://127.0.0.1:{Receiver.HttpPort}");

    public static OtlpReceiverConfig DefaultConfig(int maxMib = 4) => new()
    {
        Protocols = new()
        {
            Grpc = new() { Endpoint = "127.0.0.1:0", MaxRecvMsgSizeMib = maxMib },
            Http = new() { Endpoint = "127.0.0.1:0", MaxRequestBodySizeMib = maxMib },
        },
    };

    /// <summary>
    /// Starts a receiver. By default each signal feeds the harness's own recording entry;
    /// <paramref name="targets"/> replaces that wiring (the harness entries then stay empty).
    /// </summary>
    public static async Task<ReceiverHarness> StartAsync(OtlpReceiverConfig? config = null, ReceiverTargets? targets = null)
    {
        config ??= DefaultConfig();
        var errors = new Pipeline.Configuration.ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty, "test config must be valid");

        var sink = new CapturingSink();
        var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var metrics = new SelfMetrics();
        var context = new ComponentContext(new ComponentId("otlp", "test"), logger, metrics, new SharedComponents());
        RecordingEntry<ResourceSpans> traces = new();
        RecordingEntry<ResourceMetrics> metricPoints = new();
        RecordingEntry<ResourceLogs> logRecords = new();
        targets ??= new ReceiverTargets { Traces = [traces], Metrics = [metricPoints], Logs = [logRecords] };
        var receiver = (OtlpReceiver)new OtlpReceiverFactory().CreateReceiver(context, config, targets);
        var harness = new ReceiverHarness(receiver, logger, metrics, sink, traces, metricPoints, logRecords);
        await receiver.StartAsync(CancellationToken.None);
        return harness;
    }

    public GrpcChannel CreateChannel(GrpcChannelOptions? options = null) =>
        GrpcChannel.ForAddress($"http://127.0.0.1:{Receiver.GrpcPort}", options ?? new GrpcChannelOptions());

    public double Counter(string name, params (string Key, string Value)[] labels) =>
        Metrics.Sum(name, [("receiver", ReceiverId), .. labels]);

    public Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType, string? encoding = null) =>
        Http.PostAsync(new Uri(HttpBase, path), Content(body, contentType, encoding));

    public static HttpContent Content(byte[] body, string contentType, string? encoding = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (encoding is not null)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }

        return content;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Receiver.ShutdownAsync(CancellationToken.None);
        await _logger.DisposeAsync();
    }
}
