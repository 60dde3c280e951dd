using System.Net;
using Collector.HealthCheck;
using Collector.Pipeline;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Daemon;

public sealed class HealthCheckTests
{
    private sealed class Status : ICollectorStatus
    {
        public CollectorState State { get; set; }
    }

    [Test]
    public async Task Answers_200_only_while_running_and_503_while_starting_or_draining()
    {
        var status = new Status { State = CollectorState.Starting };
        var extension = new HealthCheckExtension(TestData.Context("health_check"), new HealthCheckConfig { Endpoint = "127.0.0.1:0" }, status);
        await extension.StartAsync(CancellationToken.None);
        using var client = new HttpClient();
        var url = new Uri($"http://127.0.0.1:{extension.Port}/");

        var starting = await client.GetAsync(url);
        status.State = CollectorState.Running;
        var running = await client.GetAsync(url);
        var body = await running.Content.ReadAsStringAsync();
        status.State = CollectorState.Draining;
        var draining = await client.GetAsync(url);
        var other = await client.GetAsync(new Uri(url, "/elsewhere"));

        Assert.That(starting.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(running.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body, Is.EqualTo("""{"status":"running"}"""));
        Assert.That(draining.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        await extension.ShutdownAsync(CancellationToken.None);
        await extension.ShutdownAsync(CancellationToken.None);
    }
}
