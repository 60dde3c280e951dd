using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Collector.Tests.Exporters;

/// <summary>
/// A backend (real Kestrel on loopback) that answers every POST 401 with a JSON body echoing the
/// credentials it was sent, as some gateways do, plus <see cref="StrangerKey"/>, a key no config
/// holds (only the built-in api_key detector can find it). Counts the requests it answered.
/// </summary>
internal sealed class EchoingAuthBackend : IAsyncDisposable
{
    public const string StrangerKey = "sk-proj-abcdefghijklmnopqrstuvwx0123";

    private readonly WebApplication _app;
    private int _answered;

    private EchoingAuthBackend(WebApplication app) => _app = app;

    public string Url { get; private set; } = string.Empty;

    public int Answered => Volatile.Read(ref _answered);

    public static async Task<EchoingAuthBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var backend = new EchoingAuthBackend(builder.Build());
        backend._app.MapPost("/{**path}", backend.AnswerAsync);
        await backend._app.StartAsync();
        backend.Url = backend._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return backend;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task AnswerAsync(HttpContext context)
    {
        var echoed = $"invalid credentials: x-api-key={context.Request.Headers["x-api-key"]} authorization={context.Request.Headers.Authorization} also tried {StrangerKey}";
        context.Response.StatusCode = 401;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = echoed, ["message"] = echoed });
        Interlocked.Increment(ref _answered);
    }
}
