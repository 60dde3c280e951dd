using System.Text;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Graph;
using Collector.Pipeline.Telemetry;
using Collector.Receiver.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Collector;

/// <summary>
/// One running collector: the component graph plus the self-telemetry endpoint
/// (service.telemetry.metrics.endpoint, Prometheus text at /metrics). Used by the CLI and by
/// in-process end-to-end tests.
/// </summary>
internal sealed class CollectorHost : IAsyncDisposable
{
    private readonly CollectorConfig _config;
    private readonly Serilog.ILogger _logger;
    private HttpServerHost? _metricsServer;

    public CollectorHost(CollectorConfig config, ComponentRegistry registry, Serilog.ILogger logger)
    {
        _config = config;
        _logger = logger;
        Metrics = new SelfMetrics();
        Service = new CollectorService(config, registry, logger, Metrics);
    }

    public CollectorService Service { get; }

    public SelfMetrics Metrics { get; }

    /// <summary>Bound port of /metrics, or null when disabled.</summary>
    public int? MetricsPort => _metricsServer?.Port;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // level none switches the endpoint off; the other levels all serve every series.
        if (_config.Service.Telemetry.MetricsEndpoint is { Length: > 0 } endpoint && _config.Service.Telemetry.MetricsLevel != "none")
        {
            _metricsServer = await HttpServerHost.StartAsync(
                new HttpServerOptions
                {
                    Endpoint = endpoint,
                    ConfigPath = "service.telemetry.metrics",
                    Logger = _logger,
                    ConfigureApp = app => app.Run(ServeMetricsAsync),
                },
                cancellationToken);
        }

        await Service.StartAsync(cancellationToken);
    }

    /// <summary>Drains within <paramref name="grace"/>; whatever is still queued after it is counted as dropped by its component.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var budget = new CancellationTokenSource(grace);
        await Service.ShutdownAsync(budget.Token);
        if (_metricsServer is not null)
        {
            await _metricsServer.StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(_config.Service.ShutdownTimeout);

    private async Task ServeMetricsAsync(HttpContext context)
    {
        if (context.Request.Path != "/metrics")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var text = new StringBuilder();
        Metrics.WritePrometheus(text);
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }
}
