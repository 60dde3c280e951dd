using System.Buffers.Binary;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.LoadGen;

/// <summary>The backend the collector exports to: OTLP/gRPC on loopback, recording every span id it receives.</summary>
internal sealed class Sink : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Sink(WebApplication app, SequenceSet received)
    {
        _app = app;
        Received = received;
        Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public SequenceSet Received { get; }

    public int Port { get; }

    public static async Task<Sink> StartAsync()
    {
        var received = new SequenceSet();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 256 * 1024 * 1024);
        builder.Services.AddSingleton(new TraceEndpoint(received));
        var app = builder.Build();
        app.MapGrpcService<TraceEndpoint>();
        await app.StartAsync();
        return new Sink(app, received);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class TraceEndpoint(SequenceSet received) : TraceService.TraceServiceBase
    {
        private static readonly ExportTraceServiceResponse Ok = new();

        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            foreach (var rs in request.ResourceSpans)
            {
                foreach (var ss in rs.ScopeSpans)
                {
                    foreach (var span in ss.Spans)
                    {
                        if (span.SpanId.Length == 8)
                        {
                            received.Add(BinaryPrimitives.ReadUInt64BigEndian(span.SpanId.Span));
                        }
                    }
                }
            }

            return Task.FromResult(Ok);
        }
    }
}
