using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.Exporters;

/// <summary>What the HTTP backend saw of one POST; <see cref="Body"/> is already gunzipped.</summary>
internal sealed record HttpCall(string Path, string? ContentType, string? ContentEncoding, IReadOnlyDictionary<string, string> Headers, byte[] Body, long Timestamp);

/// <summary>What the backend answers to the next POST.</summary>
internal sealed record HttpFault(int Status, string? RetryAfter = null, TimeSpan Delay = default);

/// <summary>A real OTLP/HTTP backend: Kestrel on 127.0.0.1 recording POSTs and answering chosen statuses.</summary>
internal sealed class HttpTestBackend : IAsyncDisposable
{
    private readonly ConcurrentQueue<HttpFault> _faults = new();
    private WebApplication? _app;

    public ConcurrentQueue<HttpCall> Calls { get; } = new();

    public long PartialRejected { get; set; }

    /// <summary>Every request waits this long before being answered (a slow backend).</summary>
    public TimeSpan DelayEach { get; set; }

    /// <summary>false: calls are recorded without their body, so a long load does not fill the test process.</summary>
    public bool KeepBodies { get; set; } = true;

    /// <summary>When set, every request waits for it before being answered (a stuck backend).</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>Every request waits this long before being answered (a slow backend); zero: answered at once.</summary>
    public TimeSpan SlowBy { get; set; }

    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>
    /// Port 0 picks a free one; a fixed port lets a test bring a backend up where an exporter already points.
    /// With <paramref name="certificate"/> the backend serves HTTPS and <see cref="BaseUrl"/> starts with https://.
    /// </summary>
    public static async Task<HttpTestBackend> StartAsync(int port = 0, X509Certificate2? certificate = null)
    {
        var backend = new HttpTestBackend();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o =>
        {
            if (certificate is not null)
            {
                o.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        app.MapPost("/{**path}", backend.HandleAsync);
        await app.StartAsync();
        backend._app = app;
        backend.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return backend;
    }

    public void Enqueue(HttpFault fault, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue(fault);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Gate?.TrySetResult();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var raw = new MemoryStream();
        await request.Body.CopyToAsync(raw, context.RequestAborted);
        var body = raw.ToArray();
        if (request.Headers.ContentEncoding == "gzip")
        {
            using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            var plain = new MemoryStream();
            await gzip.CopyToAsync(plain, context.RequestAborted);
            body = plain.ToArray();
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in request.Headers)
        {
            headers[key] = value.ToString();
        }

        Calls.Enqueue(new HttpCall(request.Path.Value ?? string.Empty, request.ContentType, request.Headers.ContentEncoding.FirstOrDefault(), headers, KeepBodies ? body : [], Stopwatch.GetTimestamp()));
        if (DelayEach > TimeSpan.Zero)
        {
            await Task.Delay(DelayEach, context.RequestAborted);
        }

        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(context.RequestAborted);
        }

        if (SlowBy > TimeSpan.Zero)
        {
            await Task.Delay(SlowBy, context.RequestAborted);
        }

        if (_faults.TryDequeue(out var fault))
        {
            if (fault.Delay > TimeSpan.Zero)
            {
                await Task.Delay(fault.Delay, context.RequestAborted);
            }

            if (fault.Status != 200)
            {
                context.Response.StatusCode = fault.Status;
                if (fault.RetryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = fault.RetryAfter;
                }

                return;
            }
        }

        var json = request.ContentType == "application/json";
        IMessage response = request.Path.Value switch
        {
            { } p when p.Contains("metrics", StringComparison.Ordinal) => new ExportMetricsServiceResponse
            {
                PartialSuccess = PartialRejected > 0 ? new ExportMetricsPartialSuccess { RejectedDataPoints = PartialRejected, ErrorMessage = "bad points" } : null,
            },
            { } p when p.Contains("logs", StringComparison.Ordinal) => new ExportLogsServiceResponse
            {
                PartialSuccess = PartialRejected > 0 ? new ExportLogsPartialSuccess { RejectedLogRecords = PartialRejected, ErrorMessage = "bad records" } : null,
            },
            _ => new ExportTraceServiceResponse
            {
                PartialSuccess = PartialRejected > 0 ? new ExportTracePartialSuccess { RejectedSpans = PartialRejected, ErrorMessage = "bad spans" } : null,
            },
        };
        context.Response.ContentType = json ? "application/json" : "application/x-protobuf";
        await context.Response.Body.WriteAsync(json ? OtlpJson.FormatUtf8(response) : response.ToByteArray(), context.RequestAborted);
    }
}
