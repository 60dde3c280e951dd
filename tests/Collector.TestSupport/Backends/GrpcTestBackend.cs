using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.Exporters;

/// <summary>What the gRPC backend saw of one call.</summary>
internal sealed record GrpcCall(string Service, IMessage Request, Metadata Headers, string? GrpcEncoding, long Timestamp);

/// <summary>What the backend does with the next call: wait, then fail with a status (optionally with RetryInfo) or succeed.</summary>
internal sealed record GrpcFault(StatusCode? Code = null, TimeSpan? RetryInfoDelay = null, TimeSpan Delay = default);

/// <summary>A real OTLP/gRPC backend: Kestrel on 127.0.0.1 (HTTP/2 only) serving the three OTLP services.</summary>
internal sealed class GrpcTestBackend : IAsyncDisposable
{
    private readonly ConcurrentQueue<GrpcFault> _faults = new();
    private WebApplication? _app;

    public ConcurrentQueue<GrpcCall> Calls { get; } = new();

    /// <summary>Answer every success with partial_success rejecting this many items.</summary>
    public long PartialRejected { get; set; }

    /// <summary>host:port; with a certificate the exporter needs https:// in front of it.</summary>
    public string Endpoint { get; private set; } = string.Empty;

    /// <summary>With <paramref name="certificate"/> the backend serves HTTPS (h2 negotiated by ALPN).</summary>
    public static async Task<GrpcTestBackend> StartAsync(X509Certificate2? certificate = null)
    {
        var backend = new GrpcTestBackend();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                o.UseHttps(certificate);
            }
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(backend);
        var app = builder.Build();
        app.MapGrpcService<TraceEndpoint>();
        app.MapGrpcService<MetricsEndpoint>();
        app.MapGrpcService<LogsEndpoint>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend._app = app;
        backend.Endpoint = new Uri(address).Authority; // host:port form, as users write it
        return backend;
    }

    public void Enqueue(GrpcFault fault, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue(fault);
        }
    }

    public async Task<(long Rejected, string Message)> HandleAsync(string service, IMessage request, ServerCallContext context)
    {
        Calls.Enqueue(new GrpcCall(service, request, context.RequestHeaders, context.GetHttpContext().Request.Headers["grpc-encoding"].FirstOrDefault(), Stopwatch.GetTimestamp()));
        if (_faults.TryDequeue(out var fault))
        {
            if (fault.Delay > TimeSpan.Zero)
            {
                await Task.Delay(fault.Delay, context.CancellationToken);
            }

            if (fault.Code is { } code)
            {
                var trailers = new Metadata();
                if (fault.RetryInfoDelay is { } delay)
                {
                    trailers.Add("grpc-status-details-bin", EncodeStatusWithRetryInfo(code, delay));
                }

                throw new RpcException(new Status(code, "injected by the test backend"), trailers);
            }
        }

        return (PartialRejected, PartialRejected > 0 ? "some items were invalid" : string.Empty);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>google.rpc.Status { code, message, details: [Any(google.rpc.RetryInfo { retry_delay })] }, encoded by hand.</summary>
    public static byte[] EncodeStatusWithRetryInfo(StatusCode code, TimeSpan delay)
    {
        var retryInfo = new MemoryStream();
        using (var o = new CodedOutputStream(retryInfo, leaveOpen: true))
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteMessage(Duration.FromTimeSpan(delay));
        }

        var any = new Any { TypeUrl = "type.googleapis.com/google.rpc.RetryInfo", Value = ByteString.CopyFrom(retryInfo.ToArray()) };
        var status = new MemoryStream();
        using (var o = new CodedOutputStream(status, leaveOpen: true))
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteInt32((int)code);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteString("slow down");
            o.WriteTag(3, WireFormat.WireType.LengthDelimited);
            o.WriteMessage(any);
        }

        return status.ToArray();
    }

    private sealed class TraceEndpoint(GrpcTestBackend backend) : TraceService.TraceServiceBase
    {
        public override async Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            var (rejected, message) = await backend.HandleAsync("traces", request, context);
            return new ExportTraceServiceResponse
            {
                PartialSuccess = rejected > 0 ? new ExportTracePartialSuccess { RejectedSpans = rejected, ErrorMessage = message } : null,
            };
        }
    }

    private sealed class MetricsEndpoint(GrpcTestBackend backend) : MetricsService.MetricsServiceBase
    {
        public override async Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            var (rejected, message) = await backend.HandleAsync("metrics", request, context);
            return new ExportMetricsServiceResponse
            {
                PartialSuccess = rejected > 0 ? new ExportMetricsPartialSuccess { RejectedDataPoints = rejected, ErrorMessage = message } : null,
            };
        }
    }

    private sealed class LogsEndpoint(GrpcTestBackend backend) : LogsService.LogsServiceBase
    {
        public override async Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
        {
            var (rejected, message) = await backend.HandleAsync("logs", request, context);
            return new ExportLogsServiceResponse
            {
                PartialSuccess = rejected > 0 ? new ExportLogsPartialSuccess { RejectedLogRecords = rejected, ErrorMessage = message } : null,
            };
        }
    }
}
