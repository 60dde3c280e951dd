using Collector.Pipeline.Telemetry;
using Microsoft.AspNetCore.Http;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Hosting;

/// <summary>
/// Requests that ended because the client went away (a load tool stopping, a reset stream): the
/// client's doing, not a collector fault. One debug line each without a stack trace, counted as
/// <c>collector_receiver_rejected_requests_total{reason="client_disconnected"}</c>, and an info
/// summary at most once a minute so that a flood of them is visible without flooding the log.
/// </summary>
internal sealed class ClientDisconnects(ILogger logger, RejectionCounter rejections)
{
    public const string Reason = "client_disconnected";

    private readonly LogLimiter _summary = new(TimeSpan.FromMinutes(1), maxKeys: 2);

    public void Record(HttpContext context, Transport transport, Exception error)
    {
        rejections.Count(transport, Reason);
        logger.Debug("Client {Client} went away during {Method} {Path} ({Error})", context.Connection.RemoteIpAddress, context.Request.Method, context.Request.Path.Value, error.GetType().Name);
        if (_summary.TryLog(transport == Transport.Grpc ? "grpc" : "http", out var suppressed))
        {
            logger.Information("A client disconnected mid-request ({Suppressed} more in the last minute before this one; each at debug)", suppressed);
        }
    }
}
