using System.Buffers;
using System.Net;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// The cost floor of the required stack (Kestrel + Grpc.AspNetCore in, Grpc.Net.Client out) for the
// testbed pipeline: every trace Export call is forwarded to the sink as received, with no validation,
// batching or pipeline. The load generator runs it in place of the collector (--collector), which
// shows how much of the collector's CPU the stack itself costs on this machine.
// FLOOR_MODE=drop answers without forwarding (the receive side alone; the load generator then
// reports every span lost).
var forward = Environment.GetEnvironmentVariable("FLOOR_MODE") != "drop";
var listen = IPEndPoint.Parse(Environment.GetEnvironmentVariable("LOADGEN_GRPC_ENDPOINT") ?? "127.0.0.1:4317");
var sink = Environment.GetEnvironmentVariable("LOADGEN_SINK") ?? "http://127.0.0.1:4318";

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(listen, endpoint => endpoint.Protocols = HttpProtocols.Http2));
builder.Services.AddGrpc(options => options.MaxReceiveMessageSize = 64 << 20);
builder.Services.AddSingleton(GrpcChannel.ForAddress(sink, new GrpcChannelOptions
{
    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
    MaxSendMessageSize = null,
}));
builder.Services.AddSingleton<IServiceMethodProvider<FloorService>>(services => new FloorMethods(forward ? services.GetRequiredService<GrpcChannel>() : null));
var app = builder.Build();
app.MapGrpcService<FloorService>();
app.Run();

internal sealed class FloorService
{
}

internal sealed class FloorMethods(GrpcChannel? sink) : IServiceMethodProvider<FloorService>
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(
        static (bytes, context) => context.Complete(bytes),
        static context => context.PayloadAsReadOnlySequence().ToArray());

    // An empty ExportTraceServiceResponse.
    private static readonly Method<byte[], byte[]> Export = new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export", Bytes, Bytes);

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<FloorService> context) =>
        context.AddUnaryMethod(Export, [], async (_, request, call) =>
        {
            if (sink is not null)
            {
                await sink.CreateCallInvoker().AsyncUnaryCall(Export, null, new CallOptions(cancellationToken: call.CancellationToken), request).ConfigureAwait(false);
            }

            return [];
        });
}
