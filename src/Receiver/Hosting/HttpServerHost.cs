using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Hosting;

/// <summary>What <see cref="HttpServerHost"/> serves and where.</summary>
internal sealed record HttpServerOptions
{
    /// <summary>Listen address in <c>host:port</c> form; port 0 asks the OS for a free port.</summary>
    public required string Endpoint { get; init; }

    /// <summary>
    /// Where this server's settings live in the config (<c>receivers.otlp.protocols.grpc</c>,
    /// <c>service.telemetry.metrics</c>): a failed start names <c>{ConfigPath}.endpoint</c> so the user knows what to change.
    /// </summary>
    public required string ConfigPath { get; init; }

    /// <summary>
    /// Null: HTTP/1.1, plus HTTP/2 when TLS lets ALPN negotiate it (offering HTTP/2 in plaintext
    /// next to HTTP/1.1 only makes Kestrel warn). gRPC without TLS needs <see cref="HttpProtocols.Http2"/> alone.
    /// </summary>
    public HttpProtocols? Protocols { get; init; }

    /// <summary>Serves HTTPS with this certificate when set.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>ASP.NET/Kestrel warnings and errors go here; lower levels are dropped.</summary>
    public required ILogger Logger { get; init; }

    /// <summary>Kestrel's request body cap in bytes (413 beyond it); null: no cap, the app enforces its own.</summary>
    public long? MaxRequestBodySize { get; init; } = 1024 * 1024;

    /// <summary>Slowest request body Kestrel waits for (408 below it); null: no minimum.</summary>
    public MinDataRate? MinRequestBodyDataRate { get; init; } = new(240, TimeSpan.FromSeconds(5));

    /// <summary>HTTP/2 streams open at once per connection (Kestrel's default 100); reset streams count until their handler ends.</summary>
    public int Http2MaxStreamsPerConnection { get; init; } = 100;

    /// <summary>How long <see cref="HttpServerHost.StopAsync"/> lets in-flight requests finish.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Adds middleware and endpoints (<c>app.Run(...)</c>, <c>app.MapGrpcService&lt;T&gt;()</c>).</summary>
    public required Action<WebApplication> ConfigureApp { get; init; }
}

/// <summary>
/// A minimal Kestrel server on one endpoint: no config files, no environment variables, no
/// console lifetime (the collector owns signals), ASP.NET logs routed to Serilog at Warning and up.
/// Shared by the receivers, the health_check extension and the /metrics endpoint.
/// </summary>
internal sealed class HttpServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _stopped;

    private HttpServerHost(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port actually bound (differs from the configured one when that was 0).</summary>
    public int Port { get; }

    /// <summary>Builds, binds and starts the server; throws when the address cannot be bound.</summary>
    public static async Task<HttpServerHost> StartAsync(HttpServerOptions options, CancellationToken cancellationToken)
    {
        if (!Pipeline.Configuration.Endpoint.TryParseHostPort(options.Endpoint, out var host, out var port))
        {
            throw new FormatException($"'{options.Endpoint}' is not a valid host:port endpoint");
        }

        var address = Pipeline.Configuration.Endpoint.ResolveBindAddress(host);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize;
            kestrel.Limits.MinRequestBodyDataRate = options.MinRequestBodyDataRate;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.Http2MaxStreamsPerConnection;
            kestrel.Listen(address, port, listen =>
            {
                listen.Protocols = options.Protocols
                    ?? (options.Certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2);
                if (options.Certificate is not null)
                {
                    listen.UseHttps(options.Certificate);
                }
            });
        });

        builder.Logging.ClearProviders();
        // Through ClientCausedServerLogs: a client that went away is no collector error.
        var serverLogger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new ClientCausedServerLogs(options.Logger)).CreateLogger();
        builder.Logging.AddSerilog(serverLogger, dispose: true);
        // After AddSerilog, which registers its own provider rule at Trace that would win over a global minimum.
        builder.Logging.AddFilter<SerilogLoggerProvider>(null, LogLevel.Warning);
        // The host logs a failed start as an ERR with the whole stack; the same exception reaches the caller,
        // which reports it once as one line naming the config key (the stack only at debug).
        builder.Logging.AddFilter<SerilogLoggerProvider>("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddRoutingCore();
        options.ConfigureServices?.Invoke(builder.Services);

        var app = builder.Build();
        options.ConfigureApp(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            // Kestrel wraps AddressInUseException / permission errors in an IOException; the user needs the key, not the stack.
            throw new ServerStartException($"{options.ConfigPath}.endpoint: cannot listen on {options.Endpoint}: {BindFailure(e)}", e);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new HttpServerHost(app, BoundPort(app, port));
    }

    /// <summary>Stops accepting, lets in-flight requests finish within the shutdown timeout. Safe to call twice.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        try
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    private static string BindFailure(IOException e) => e.InnerException switch
    {
        Microsoft.AspNetCore.Connections.AddressInUseException => "the address is already in use (another collector, or another program on this port)",
        System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AccessDenied } => "permission denied (ports below 1024 need privileges)",
        System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressNotAvailable } => "the address is not one of this machine's",
        { } inner => inner.Message,
        null => e.Message,
    };

    private static int BoundPort(WebApplication app, int configured)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is not null)
        {
            foreach (var a in addresses)
            {
                if (Uri.TryCreate(a, UriKind.Absolute, out var uri))
                {
                    return uri.Port;
                }
            }
        }

        return configured;
    }

    /// <summary>The collector's host handles SIGTERM/Ctrl+C; an embedded server must not.</summary>
    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>A server could not start; the message is one line naming the config key and the cause.</summary>
internal sealed class ServerStartException(string message, Exception inner) : Exception(message, inner);
