using System.Security.Cryptography.X509Certificates;
using Collector.Pipeline;
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
    private const int Mib = 1024 * 1024;

    private readonly OtlpReceiverConfig _config;
    private readonly ILogger _logger;
    private readonly OtlpSignalHandler<ResourceSpans> _traces;
    private readonly OtlpSignalHandler<ResourceMetrics> _metrics;
    private readonly OtlpSignalHandler<ResourceLogs> _logs;
    private readonly BearerTokenAuthenticator? _auth;
    private readonly RejectionCounter _rejections;
    private readonly List<X509Certificate2> _certificates = [];
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private HttpServerHost? _grpcServer;
    private HttpServerHost? _httpServer;

    public OtlpReceiver(ComponentContext context, OtlpReceiverConfig config, ReceiverTargets targets)
    {
        _config = config;
        _logger = context.Logger.ForContext("component", context.Id.ToString());
        _traces = new(context.Id, context.Metrics, _logger, targets.Traces, OtlpSignalCodecs.Traces);
        _metrics = new(context.Id, context.Metrics, _logger, targets.Metrics, OtlpSignalCodecs.Metrics);
        _logs = new(context.Id, context.Metrics, _logger, targets.Logs, OtlpSignalCodecs.Logs);
        _auth = config.Auth is { } auth ? new BearerTokenAuthenticator(auth.BearerTokens) : null;
        _rejections = new RejectionCounter(context.Metrics, context.Id);
    }

    /// <summary>The bound gRPC port once started (useful with port 0), else null.</summary>
    public int? GrpcPort => _grpcServer?.Port;

    /// <summary>The bound HTTP port once started, else null.</summary>
    public int? HttpPort => _httpServer?.Port;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_grpcServer is not null || _httpServer is not null)
            {
                throw new InvalidOperationException("the otlp receiver is already started");
            }

            try
            {
                if (_config.Protocols.Grpc is { } grpc)
                {
                    _grpcServer = await StartGrpcAsync(grpc, cancellationToken).ConfigureAwait(false);
                    _logger.Information("OTLP/gRPC listening on {Endpoint} (port {Port})", grpc.Endpoint, _grpcServer.Port);
                }

                if (_config.Protocols.Http is { } http)
                {
                    _httpServer = await StartHttpAsync(http, cancellationToken).ConfigureAwait(false);
                    _logger.Information("OTLP/HTTP listening on {Endpoint} (port {Port})", http.Endpoint, _httpServer.Port);
                }
            }
            catch
            {
                await StopServersAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await StopServersAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StopServersAsync(CancellationToken cancellationToken)
    {
        var servers = new[] { _grpcServer, _httpServer };
        _grpcServer = null;
        _httpServer = null;
        foreach (var server in servers)
        {
            if (server is not null)
            {
                await server.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var certificate in _certificates)
        {
            certificate.Dispose();
        }

        _certificates.Clear();
    }

    private Task<HttpServerHost> StartGrpcAsync(OtlpReceiverConfig.GrpcConfig grpc, CancellationToken cancellationToken)
    {
        var maxBytes = grpc.MaxRecvMsgSizeMib * Mib;
        var middleware = new OtlpGrpcMiddleware(_auth, _rejections, _logger);
        return HttpServerHost.StartAsync(
            new HttpServerOptions
            {
                Endpoint = grpc.Endpoint,
                Protocols = HttpProtocols.Http2,
                Certificate = LoadCertificate(grpc.Tls),
                Logger = _logger,
                // grpc-dotnet enforces max_recv_msg_size_mib per message itself.
                MaxRequestBodySize = null,
                ConfigureServices = services =>
                {
                    // grpc-dotnet applies the limit to the compressed message and, while inflating, to the
                    // decompressed one (a gzip bomb stops at the limit; verified by the receiver tests).
                    services.AddGrpc(o => o.MaxReceiveMessageSize = maxBytes);
                    services.AddSingleton(new OtlpGrpcService());
                    services.AddSingleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<OtlpGrpcService>>(new OtlpGrpcMethodProvider(_traces, _metrics, _logs));
                },
                ConfigureApp = app =>
                {
                    app.Use(middleware.InvokeAsync);
                    app.MapGrpcService<OtlpGrpcService>();
                },
            },
            cancellationToken);
    }

    private Task<HttpServerHost> StartHttpAsync(OtlpReceiverConfig.HttpConfig http, CancellationToken cancellationToken)
    {
        var maxBytes = http.MaxRequestBodySizeMib * Mib;
        var handler = new OtlpHttpHandler(_traces, _metrics, _logs, _auth, maxBytes, _rejections, _logger);
        return HttpServerHost.StartAsync(
            new HttpServerOptions
            {
                Endpoint = http.Endpoint,
                Certificate = LoadCertificate(http.Tls),
                Logger = _logger,
                // The wire size is capped too: a compressed body larger than the decompressed limit is never legitimate.
                MaxRequestBodySize = maxBytes,
                ConfigureApp = app => app.Run(handler.HandleAsync),
            },
            cancellationToken);
    }

    private X509Certificate2? LoadCertificate(OtlpReceiverConfig.TlsConfig? tls)
    {
        if (tls is null)
        {
            return null;
        }

        var certificate = X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
        _certificates.Add(certificate);
        return certificate;
    }
}
