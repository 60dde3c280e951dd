using System.Buffers;
using System.Net;
using Collector.Exporters.Shared;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// The cost floor of the required stack (Kestrel + Grpc.AspNetCore in, Grpc.Net.Client out) for the
// testbed pipeline: trace Export calls are answered at once and their bytes forwarded to the sink
// in batches as the collector's batch processor would make them, sent as the otlp exporter sends
// (the requests' bytes back to back: protobuf repeated fields concatenate), with no validation,
// retry or pipeline. The load generator runs it in
// place of the collector (--collector), which shows how much of the collector's CPU the stack itself
// costs on this machine. FLOOR_MODE=drop answers without forwarding (the receive side alone; the
// load generator then reports every span lost).
var forward = Environment.GetEnvironmentVariable("FLOOR_MODE") != "drop";
var listen = IPEndPoint.Parse(Environment.GetEnvironmentVariable("LOADGEN_GRPC_ENDPOINT") ?? "127.0.0.1:4317");
var sink = Environment.GetEnvironmentVariable("LOADGEN_SINK") ?? "http://127.0.0.1:4318";

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(listen, endpoint => endpoint.Protocols = HttpProtocols.Http2));
builder.Services.AddGrpc(options => options.MaxReceiveMessageSize = 64 << 20);
builder.Services.AddSingleton<FloorService>();
Forwarder? forwarder = null;
if (forward)
{
    var channel = GrpcChannel.ForAddress(sink, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        MaxSendMessageSize = null,
    });
    forwarder = new Forwarder(OtlpSignal<OpenTelemetry.Proto.Trace.V1.ResourceSpans>.Instance.CreateGrpcExport(channel.CreateCallInvoker()));
}

builder.Services.AddSingleton<IServiceMethodProvider<FloorService>>(new FloorMethods(forwarder));
var app = builder.Build();
app.MapGrpcService<FloorService>();
var flushing = forwarder?.FlushEverySecondAsync(app.Lifetime.ApplicationStopping);
app.Run();
if (flushing is not null)
{
    await flushing.ConfigureAwait(false);
}

internal sealed class FloorService
{
}

internal static class Floor
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(
        static (bytes, context) => context.Complete(bytes),
        static context => context.PayloadAsReadOnlySequence().ToArray());

    public static Method<byte[], byte[]> Export { get; } = new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export", Bytes, Bytes);
}

internal sealed class FloorMethods(Forwarder? forwarder) : IServiceMethodProvider<FloorService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<FloorService> context) =>
        context.AddUnaryMethod(Floor.Export, [], (_, request, _) =>
        {
            forwarder?.Add(request);

            // Zero bytes: an empty ExportTraceServiceResponse.
            return Task.FromResult<byte[]>([]);
        });
}

/// <summary>
/// Sends every 11 requests (1,100 testbed spans: the batch processor's default send_batch_size of
/// 1024 is reached at the same request) as one call, and whatever waits once a second (its timeout).
/// </summary>
internal sealed class Forwarder(Func<IReadOnlyList<ReadOnlyMemory<byte>>, CallOptions, Task<PartialSuccess>> export)
{
    private const int RequestsPerBatch = 11;
    private readonly Lock _gate = new();
    private List<ReadOnlyMemory<byte>> _pending = [];

    public void Add(byte[] request)
    {
        List<ReadOnlyMemory<byte>>? full = null;
        lock (_gate)
        {
            _pending.Add(request);
            if (_pending.Count >= RequestsPerBatch)
            {
                full = _pending;
                _pending = [];
            }
        }

        if (full is not null)
        {
            _ = SendAsync(full);
        }
    }

    public async Task FlushEverySecondAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                List<ReadOnlyMemory<byte>> waiting;
                lock (_gate)
                {
                    waiting = _pending;
                    _pending = [];
                }

                if (waiting.Count > 0)
                {
                    await SendAsync(waiting).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SendAsync(List<ReadOnlyMemory<byte>> requests)
    {
        try
        {
            await export(requests, default).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // A floor does not retry: the load generator reports what did not arrive.
        }
    }
}
