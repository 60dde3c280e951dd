using Collector.Receiver.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Collector.Tests.Receiver;

public sealed class HttpServerHostTests
{
    [Test]
    public async Task Binds_port_zero_reports_the_real_port_and_stops_gracefully()
    {
        var sink = new CapturingSink();
        using var logger = new Serilog.LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var server = await HttpServerHost.StartAsync(
            new HttpServerOptions
            {
                Endpoint = "localhost:0",
                ConfigPath = "receivers.test",
                Logger = logger,
                ConfigureApp = app => app.Run(context => context.Response.WriteAsync("pong")),
            },
            CancellationToken.None);
        using var client = new HttpClient();

        Assert.That(server.Port, Is.GreaterThan(0));
        Assert.That(await client.GetStringAsync(new Uri($"http://127.0.0.1:{server.Port}/ping")), Is.EqualTo("pong"));

        await server.StopAsync(CancellationToken.None);
        await server.StopAsync(CancellationToken.None);
        await server.DisposeAsync();

        var refused = await Assert.CatchAsync<HttpRequestException>(() => client.GetStringAsync(new Uri($"http://127.0.0.1:{server.Port}/ping")));
        Assert.That(refused!.HttpRequestError, Is.EqualTo(HttpRequestError.ConnectionError), "the port is closed after stop");
        Assert.That(sink.Lines, Is.Empty, "nothing below Warning from ASP.NET");
    }

    [Test]
    public async Task A_port_in_use_fails_to_start()
    {
        await using var first = await HttpServerHost.StartAsync(
            new HttpServerOptions { Endpoint = "127.0.0.1:0", ConfigPath = "receivers.first", Logger = Serilog.Core.Logger.None, ConfigureApp = _ => { } },
            CancellationToken.None);

        var error = await Assert.CatchAsync<ServerStartException>(() => HttpServerHost.StartAsync(
            new HttpServerOptions { Endpoint = $"127.0.0.1:{first.Port}", ConfigPath = "receivers.second", Logger = Serilog.Core.Logger.None, ConfigureApp = _ => { } },
            CancellationToken.None));

        Assert.That(error!.Message, Is.EqualTo($"receivers.second.endpoint: cannot listen on 127.0.0.1:{first.Port}: the address is already in use (another collector, or another program on this port)"));
    }
}
