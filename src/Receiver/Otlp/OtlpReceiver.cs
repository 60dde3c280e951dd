using Collector.Pipeline;
using Collector.Pipeline.Configuration.Common;
using Collector.Receiver.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Otlp;

/// <summary>The <c>otlp</c> receiver: one gRPC and/or one HTTP server feeding every pipeline that lists it.</summary>
internal sealed class OtlpReceiver : IReceiver
{
    private readonly OtlpReceiverConfig _config;
    private readonly ILogger _logger;
    private readonly OtlpSignalHandler<ResourceSpans> _traces;
    private readonly OtlpSignalHandler<ResourceMetrics> _metrics;
    private readonly OtlpSignalHandler<ResourceLogs> _logs;
    private readonly BearerTokenAuthenticator? _auth;
    private readonly RejectionCounter _rejections;
    private readonly ServerSet _servers = new("otlp");
    private readonly string _configPath;
    private HttpServerHost? _grpcServer;
    private HttpServerHost? _httpServer;

    public OtlpReceiver(ComponentContext context, OtlpReceiverConfig config, ReceiverTargets targets)
    {
        _config = config;
        _configPath = $"receivers.{context.Id}.protocols";
        _logger = context.Logger.ForContext("component", context.Id.ToString());
        _traces = OtlpSignalHandlers.Traces(context, _logger, targets.Traces);
        _metrics = OtlpSignalHandlers.Metrics(context, _logger, targets.Metrics);
        _logs = OtlpSignalHandlers.Logs(context, _logger, targets.Logs);
        _auth = config.Auth is { } auth ? new BearerTokenAuthenticator(auth.BearerTokens) : null;
        _rejections = new RejectionCounter(context.Metrics, context.Id);
    }

    /// <summary>The bound gRPC port once started (useful with port 0), else null.</summary>
    public int? GrpcPort => _grpcServer?.Port;

    /// <summary>The bound HTTP port once started, else null.</summary>
    public int? HttpPort => _httpServer?.Port;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var specs = new List<ServerSpec>(2);
        if (_config.Protocols.Grpc is { } grpc)
        {
            specs.Add(GrpcServer(grpc));
        }

        if (_config.Protocols.Http is { } http)
        {
            specs.Add(HttpServer(http));
        }

        var servers = await _servers.StartAsync(specs, cancellationToken).ConfigureAwait(false);
        var next = 0;
        if (_config.Protocols.Grpc is { } g)
        {
            _grpcServer = servers[next++];
            _logger.Information("OTLP/gRPC listening on {Endpoint} (port {Port})", g.Endpoint, _grpcServer.Port);
        }

        if (_config.Protocols.Http is { } h)
        {
            _httpServer = servers[next];
            _logger.Information("OTLP/HTTP listening on {Endpoint} (port {Port})", h.Endpoint, _httpServer.Port);
        }
    }

    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        _grpcServer = null;
        _httpServer = null;
        await _servers.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    private ServerSpec GrpcServer(OtlpReceiverConfig.GrpcConfig grpc)
    {
        var maxBytes = grpc.MaxRecvMsgSizeMib * SizeLimit.BytesPerMib;
        var middleware = new OtlpGrpcMiddleware(_auth, _rejections, _logger);
        return new ServerSpec(
            new HttpServerOptions
            {
                Endpoint = grpc.Endpoint,
                ConfigPath = _configPath + ".grpc",
                Protocols = HttpProtocols.Http2,
                Logger = _logger,
                // grpc-dotnet enforces max_recv_msg_size_mib per message itself.
                MaxRequestBodySize = null,
                Http2MaxStreamsPerConnection = grpc.MaxConcurrentStreams,
                ConfigureServices = services =>
                {
                    // grpc-dotnet applies the limit to the compressed message and, while inflating, to the
                    // decompressed one (a gzip bomb stops at the limit; verified by the receiver tests).
                    services.AddGrpc(o =>
                    {
                        o.MaxReceiveMessageSize = maxBytes;
                        o.CompressionProviders = [new GrpcGzipProvider()];
                    });
                    services.AddSingleton(new OtlpGrpcService());
                    services.AddSingleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<OtlpGrpcService>>(new OtlpGrpcMethodProvider(_traces, _metrics, _logs));
                },
                ConfigureApp = app =>
                {
                    app.Use(middleware.InvokeAsync);
                    app.MapGrpcService<OtlpGrpcService>();
                },
            },
            grpc.Tls);
    }

    private ServerSpec HttpServer(OtlpReceiverConfig.HttpConfig http)
    {
        var maxBytes = http.MaxRequestBodySizeMib * SizeLimit.BytesPerMib;
        var handler = new OtlpHttpHandler(_traces, _metrics, _logs, _auth, maxBytes, _rejections, _logger);
        return new ServerSpec(
            new HttpServerOptions
            {
                Endpoint = http.Endpoint,
                ConfigPath = _configPath + ".http",
                Logger = _logger,
                // The wire size is capped too: a compressed body larger than the decompressed limit is never legitimate.
                MaxRequestBodySize = maxBytes,
                MinRequestBodyDataRate = http.MinBodyRate.ToKestrel(),
                ConfigureApp = app => app.Run(handler.HandleAsync),
            },
            http.Tls);
    }
}
