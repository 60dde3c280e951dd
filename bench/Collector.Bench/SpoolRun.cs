using System.Diagnostics;
using System.Globalization;
using System.Net;
using Collector.Pipeline.Configuration;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Bench;

/// <summary>
/// <c>run spool [--spans N] [--clients N] [--rounds N] [--verbose]</c>: the same OTLP/HTTP protobuf workload pushed through an
/// in-process collector (otlp receiver -> otlphttp exporter -> local sink) without a spool, with
/// <c>on_failure</c> (healthy backend: the spool stays idle) and with <c>write_ahead</c> (every request
/// committed to SQLite before its 200), in one process run. Reports spans/s, the write_ahead ratio,
/// and the spool's write rate: payload MB committed, and bytes the process wrote to storage
/// (/proc/self/io write_bytes: WAL + checkpoints).
/// </summary>
internal static class SpoolRun
{
    private const int SpansPerRequest = 100;
    private const int AttributesPerSpan = 20;
    private const int DistinctRequests = 64;

    /// <summary>--verbose: print each run's exporter and spool self-metrics.</summary>
    private static bool Verbose { get; set; }

    public static async Task<int> RunAsync(string[] args)
    {
        var spans = IntOption(args, "--spans", 200_000);
        var clients = IntOption(args, "--clients", 8);
        var roundCount = IntOption(args, "--rounds", 3);
        Verbose = Array.IndexOf(args, "--verbose") >= 0;
        var requests = BuildRequests();
        var requestCount = spans / SpansPerRequest;
        var total = requestCount * SpansPerRequest;
        Console.WriteLine($"workload: {total:N0} spans, {SpansPerRequest} spans/request, {AttributesPerSpan} attributes/span, " +
            $"{requests[0].Length / 1024.0:0.0} KiB/request, OTLP/HTTP protobuf, {clients} concurrent clients, {Environment.ProcessorCount} cores");

        await using var sink = await Sink.StartAsync();
        var root = Directory.CreateTempSubdirectory("collector-bench-spool-").FullName;
        try
        {
            // Modes alternate within each round so that a busy neighbour on the machine hits them alike;
            // each mode's median round is reported.
            var modes = new[] { "none", "on_failure", "write_ahead" };
            var rounds = new List<Result>[modes.Length];
            for (var m = 0; m < modes.Length; m++)
            {
                rounds[m] = [];
                await MeasureAsync(modes[m], Path.Combine(root, modes[m] + "-warmup"), requests, 100, clients, sink);
            }

            for (var round = 0; round < roundCount; round++)
            {
                for (var m = 0; m < modes.Length; m++)
                {
                    var result = await MeasureAsync(modes[m], Path.Combine(root, $"{modes[m]}-{round}"), requests, requestCount, clients, sink);
                    rounds[m].Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1} {result.Mode}: {result.SpansPerSecond:N0} spans/s, {result.Lost:N0} spans not delivered"));
                }
            }

            Console.WriteLine();
            Console.WriteLine($"median of {roundCount} rounds:");
            Console.WriteLine("| spool | spans/s | lost spans | wall s | CPU cores | client p50 ms | client p99 ms | spans spooled | spool payload MB | payload MB/s | disk writes MB | disk MB/s |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
            var medians = new Result[modes.Length];
            for (var m = 0; m < modes.Length; m++)
            {
                rounds[m].Sort((a, b) => a.SpansPerSecond.CompareTo(b.SpansPerSecond));
                var r = medians[m] = rounds[m][rounds[m].Count / 2];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Mode} | {r.SpansPerSecond:N0} | {r.Lost:N0} | {r.Seconds:0.00} | {r.CpuCores:0.00} | {r.P50Ms:0.0} | {r.P99Ms:0.0} | {r.SpooledShare:P0} | {r.SpoolPayloadMb:0.0} | {r.SpoolPayloadMb / r.Seconds:0.0} | {r.DiskWriteMb:0.0} | {r.DiskWriteMb / r.Seconds:0.0} |"));
            }

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"write_ahead / no spool throughput ratio: {medians[2].SpansPerSecond / medians[0].SpansPerSecond:0.00} (median rounds)"));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<Result> MeasureAsync(string mode, string spoolDir, byte[][] requests, int requestCount, int clients, Sink sink)
    {
        var port = FreePort();
        var spool = mode == "none" ? string.Empty : $", spool: {{ directory: \"{spoolDir}\", durability: {mode}, max_size_mib: 512 }}";
        var yaml = $$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{port}}" } } } }
            exporters:
              otlphttp:
                endpoint: "{{sink.BaseUrl}}"
                compression: none
                sending_queue: { queue_size: 1000, num_consumers: 4{{spool}} }
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:{{FreePort()}}" } }
              pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } }
            """;
        var registry = CollectorComponents.CreateRegistry();
        var loaded = ConfigLoader.Load(yaml, registry, Environment.GetEnvironmentVariable);
        if (loaded.Config is null)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, loaded.Errors));
        }

        var host = new CollectorHost(loaded.Config, registry, Serilog.Core.Logger.None);
        await host.StartAsync(CancellationToken.None);
        try
        {
            var url = new Uri($"http://127.0.0.1:{port}/v1/traces");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { Timeout = TimeSpan.FromSeconds(60) };
            var latencies = new double[requestCount];
            var next = -1;
            var sinkBytesBefore = sink.Bytes;
            var diskBefore = ProcessWriteBytes();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            var workers = new Task[clients];
            for (var c = 0; c < clients; c++)
            {
                workers[c] = Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < requestCount)
                    {
                        var started = Stopwatch.GetTimestamp();
                        using var content = new ByteArrayContent(requests[i % requests.Length]);
                        content.Headers.ContentType = new("application/x-protobuf");
                        using var response = await http.PostAsync(url, content);
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            throw new InvalidOperationException($"collector answered {(int)response.StatusCode}");
                        }

                        latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    }
                });
            }

            await Task.WhenAll(workers);
            var expected = (double)requestCount * SpansPerRequest;
            var sent = ("exporter", "otlphttp");
            // Without write_ahead the receiver answers before delivery and a full queue drops (counted):
            // the run ends when every span is either delivered or counted as not delivered.
            double delivered, failed;
            while ((delivered = host.Metrics.Read("collector_exporter_sent_spans_total", sent))
                + (failed = host.Metrics.Sum("collector_exporter_send_failed_spans_total", sent)) < expected)
            {
                await Task.Delay(5);
            }

            wall.Stop();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var diskMb = (ProcessWriteBytes() - diskBefore) / 1e6;
            var spooled = host.Metrics.Read("collector_exporter_spooled_spans_total", sent);

            // Spool payloads are the same protobuf requests the sink receives, so their size is known exactly.
            var payloadMb = spooled >= expected ? (sink.Bytes - sinkBytesBefore) / 1e6 : 0;
            if (Verbose)
            {
                var text = new System.Text.StringBuilder();
                host.Metrics.WritePrometheus(text);
                foreach (var line in text.ToString().Split('\n'))
                {
                    if (line.StartsWith("collector_exporter", StringComparison.Ordinal) || line.StartsWith("collector_spool", StringComparison.Ordinal))
                    {
                        Console.WriteLine($"  [{mode}] {line}");
                    }
                }
            }

            Array.Sort(latencies);
            return new Result(
                mode,
                delivered / wall.Elapsed.TotalSeconds,
                wall.Elapsed.TotalSeconds,
                cpu.TotalSeconds / wall.Elapsed.TotalSeconds,
                latencies[latencies.Length / 2],
                latencies[(int)(latencies.Length * 0.99)],
                payloadMb,
                diskMb,
                spooled / expected,
                failed);
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Distinct pre-encoded requests (LLM-like spans, 20 attributes each) reused round-robin.</summary>
    private static byte[][] BuildRequests()
    {
        var random = new Random(42);
        var result = new byte[DistinctRequests][];
        for (var r = 0; r < result.Length; r++)
        {
            var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai", Version = "0.48b0" } };
            for (var s = 0; s < SpansPerRequest; s++)
            {
                var traceId = new byte[16];
                var spanId = new byte[8];
                random.NextBytes(traceId);
                random.NextBytes(spanId);
                var span = new Span
                {
                    TraceId = ByteString.CopyFrom(traceId),
                    SpanId = ByteString.CopyFrom(spanId),
                    Name = "chat gpt-4o",
                    Kind = Span.Types.SpanKind.Client,
                    StartTimeUnixNano = 1_700_000_000_000_000_000UL + (ulong)s,
                    EndTimeUnixNano = 1_700_000_000_900_000_000UL + (ulong)s,
                };
                for (var a = 0; a < AttributesPerSpan; a++)
                {
                    var value = a % 3 == 0
                        ? new AnyValue { IntValue = random.Next(1, 4000) }
                        : new AnyValue { StringValue = $"value-{a}-{random.Next():x8}-{random.Next():x8}" };
                    span.Attributes.Add(new KeyValue { Key = $"gen_ai.attribute.{a}", Value = value });
                }

                scope.Spans.Add(span);
            }

            var resource = new ResourceSpans { Resource = new Resource() };
            resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "bench-chat-app" } });
            resource.ScopeSpans.Add(scope);
            var request = new ExportTraceServiceRequest();
            request.ResourceSpans.Add(resource);
            result[r] = request.ToByteArray();
        }

        return result;
    }

    /// <summary>Bytes this process caused to be written to storage (page-dirtying time), or 0 where /proc is missing.</summary>
    private static long ProcessWriteBytes()
    {
        const string prefix = "write_bytes:";
        if (!File.Exists("/proc/self/io"))
        {
            return 0;
        }

        foreach (var line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(prefix.Length).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Result(string Mode, double SpansPerSecond, double Seconds, double CpuCores, double P50Ms, double P99Ms, double SpoolPayloadMb, double DiskWriteMb, double SpooledShare, double Lost);

    /// <summary>The backend: an OTLP/HTTP endpoint that reads each body, counts its bytes and answers 200.</summary>
    private sealed class Sink : IAsyncDisposable
    {
        private WebApplication? _app;
        private long _bytes;

        public string BaseUrl { get; private set; } = string.Empty;

        public long Bytes => Interlocked.Read(ref _bytes);

        public static async Task<Sink> StartAsync()
        {
            var sink = new Sink();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.MapPost("/v1/traces", sink.HandleAsync);
            await app.StartAsync();
            sink._app = app;
            sink.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return sink;
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }

        private async Task HandleAsync(HttpContext context)
        {
            var buffer = new byte[64 * 1024];
            long read = 0;
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                read += n;
            }

            Interlocked.Add(ref _bytes, read);
            context.Response.StatusCode = StatusCodes.Status200OK;
        }
    }
}
