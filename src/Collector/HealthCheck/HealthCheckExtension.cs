using Collector.Pipeline;
using Collector.Receiver.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Collector.HealthCheck;

/// <summary>
/// Answers 200 while every pipeline runs and 503 while the collector is starting, draining or
/// stopped, so that a load balancer or Kubernetes probe stops routing before shutdown.
/// </summary>
internal sealed class HealthCheckExtension(ComponentContext context, HealthCheckConfig config, ICollectorStatus status) : IExtension
{
    private HttpServerHost? _server;

    public int? Port => _server?.Port;

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _server = await HttpServerHost.StartAsync(
            new HttpServerOptions { Endpoint = config.Endpoint, ConfigPath = $"extensions.{context.Id}", Logger = context.Logger, ConfigureApp = app => app.Run(AnswerAsync) },
            cancellationToken);

    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    private async Task AnswerAsync(HttpContext http)
    {
        if (http.Request.Path != config.Path)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var state = status.State;
        http.Response.StatusCode = state == CollectorState.Running ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync($$"""{"status":"{{state.ToString().ToLowerInvariant()}}"}""", http.RequestAborted);
    }
}
