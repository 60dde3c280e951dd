using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Durable;

/// <summary>Builds OTLP trace requests whose span ids are unique numbers, so that delivery can be checked id by id.</summary>
internal static class SpanIds
{
    private static long _next = Random.Shared.NextInt64(1, 1L << 40);

    /// <summary>A request of <paramref name="spans"/> spans, each with <paramref name="payloadBytes"/> random (incompressible) attribute bytes.</summary>
    public static ExportTraceServiceRequest Request(int spans, int payloadBytes, List<ulong> ids)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "durable-test" } };
        var traceId = new byte[16];
        Random.Shared.NextBytes(traceId);
        for (var i = 0; i < spans; i++)
        {
            var id = (ulong)Interlocked.Increment(ref _next);
            ids.Add(id);
            var spanId = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(spanId, id);
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(spanId),
                Name = "chat gpt-4o",
                Kind = Span.Types.SpanKind.Client,
                StartTimeUnixNano = 1_700_000_000_000_000_000,
                EndTimeUnixNano = 1_700_000_000_500_000_000,
            };
            span.Attributes.Add(new KeyValue { Key = "gen_ai.request.model", Value = new AnyValue { StringValue = "gpt-4o" } });
            if (payloadBytes > 0)
            {
                var blob = new byte[payloadBytes];
                Random.Shared.NextBytes(blob);
                span.Attributes.Add(new KeyValue { Key = "gen_ai.prompt.blob", Value = new AnyValue { BytesValue = ByteString.CopyFrom(blob) } });
            }

            scope.Spans.Add(span);
        }

        var resource = new ResourceSpans { Resource = new Resource() };
        resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "durable-app" } });
        resource.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resource);
        return request;
    }

    public static void Collect(ExportTraceServiceRequest request, ICollection<ulong> into)
    {
        foreach (var rs in request.ResourceSpans)
        {
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var span in ss.Spans)
                {
                    into.Add(BinaryPrimitives.ReadUInt64BigEndian(span.SpanId.Span));
                }
            }
        }
    }
}

/// <summary>Reads the span ids a <see cref="HttpTestBackend"/> received, parsing each call once.</summary>
internal sealed class ReceivedSpans(HttpTestBackend backend)
{
    private readonly HashSet<ulong> _unique = [];
    private int _parsedCalls;

    /// <summary>Span ids counted with repetition (duplicates of at-least-once included).</summary>
    public long Total { get; private set; }

    public IReadOnlySet<ulong> Unique
    {
        get
        {
            Refresh();
            return _unique;
        }
    }

    public bool ContainsAll(IEnumerable<ulong> ids)
    {
        Refresh();
        return _unique.IsSupersetOf(ids);
    }

    private void Refresh()
    {
        var ids = new List<ulong>();
        var index = 0;
        foreach (var call in backend.Calls)
        {
            if (index++ < _parsedCalls)
            {
                continue;
            }

            ids.Clear();
            SpanIds.Collect(ExportTraceServiceRequest.Parser.ParseFrom(call.Body), ids);
            Total += ids.Count;
            _unique.UnionWith(ids);
            _parsedCalls++;
        }
    }
}

/// <summary>Posts OTLP/HTTP protobuf trace requests to a collector and records which spans were acknowledged.</summary>
internal sealed class OtlpClient : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Uri _url;

    public OtlpClient(int port) => _url = new Uri($"http://127.0.0.1:{port}/v1/traces");

    /// <summary>Span ids whose request got 200.</summary>
    public ConcurrentBag<ulong> Acked { get; } = [];

    /// <summary>Spans whose request got 503 (the client's SDK would retry them).</summary>
    public long RefusedSpans => Interlocked.Read(ref _refusedSpans);

    public long OtherFailures => Interlocked.Read(ref _otherFailures);

    /// <summary>The last answer that was neither 200 nor 503, or the exception, for failure messages.</summary>
    public string? LastOtherFailure { get; private set; }

    private long _refusedSpans;
    private long _otherFailures;

    /// <summary>Sends one request; returns its status, or null when the connection failed.</summary>
    public async Task<HttpStatusCode?> SendAsync(int spans, int payloadBytes = 0)
    {
        var ids = new List<ulong>(spans);
        var request = SpanIds.Request(spans, payloadBytes, ids);
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new("application/x-protobuf");
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsync(_url, content);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            LastOtherFailure = e.GetType().Name + ": " + e.Message;
            Interlocked.Increment(ref _otherFailures);
            return null;
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    foreach (var id in ids)
                    {
                        Acked.Add(id);
                    }

                    break;
                case HttpStatusCode.ServiceUnavailable:
                    Interlocked.Add(ref _refusedSpans, spans);
                    break;
                default:
                    LastOtherFailure = $"HTTP {(int)response.StatusCode}";
                    Interlocked.Increment(ref _otherFailures);
                    break;
            }

            return response.StatusCode;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Samples the bytes of the spool files (database + WAL + shm) in a directory until stopped, keeping the maximum.</summary>
internal sealed class SpoolSizeSampler : IAsyncDisposable
{
    private readonly string _directory;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _max;

    public SpoolSizeSampler(string directory)
    {
        _directory = directory;
        _loop = Task.Run(LoopAsync);
    }

    public long Max => Interlocked.Read(ref _max);

    public int Samples { get; private set; }

    public static long BytesOnDisk(string directory)
    {
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*.spool.db*"))
        {
            if (file.Name.Contains(".corrupt-", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                file.Refresh();
                total += file.Exists ? file.Length : 0;
            }
            catch (IOException)
            {
                // Truncated or removed between listing and reading: not part of the total any more.
            }
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var bytes = BytesOnDisk(_directory);
            if (bytes > _max)
            {
                Interlocked.Exchange(ref _max, bytes);
            }

            Samples++;
            try
            {
                await Task.Delay(2, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>A temp directory per test for configs and spool files.</summary>
public abstract class DurableTestBase
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(25);

    protected string Dir { get; private set; } = "";

    protected string SpoolDir => Path.Combine(Dir, "spool");

    [SetUp]
    public void CreateDirectory() => Dir = Directory.CreateTempSubdirectory("collector-durable-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(Dir, recursive: true);

    /// <summary>
    /// One traces pipeline: otlp/HTTP receiver -> otlphttp exporter with a spool. Retries are fast and
    /// few so that an outage reaches the spool quickly; <paramref name="extra"/> adds exporter keys.
    /// </summary>
    protected string Yaml(int receiverPort, int backendPort, string durability, int maxSizeMib = 50, string onFull = "reject", int queueSize = 4, int maxAttempts = 2, string extra = "") => $$"""
        receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{receiverPort}}" } } } }
        exporters:
          otlphttp:
            endpoint: "http://127.0.0.1:{{backendPort}}"
            compression: none
            timeout: 2s
            retry_on_failure: { initial_interval: 50ms, max_interval: 200ms, max_attempts: {{maxAttempts}}, randomization_factor: 0 }
            sending_queue:
              queue_size: {{queueSize}}
              num_consumers: 2
              spool: { directory: "{{SpoolDir}}", max_size_mib: {{maxSizeMib}}, durability: {{durability}}, on_full: {{onFull}} }
            {{extra}}
        service:
          shutdown_timeout: 10s
          telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
          pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } }
        """;

    internal static double Metric(RunningCollector collector, string name, params (string Key, string Value)[] labels) =>
        collector.Host.Metrics.Read(name, [("exporter", "otlphttp"), .. labels]);

    internal static double Failed(RunningCollector collector) =>
        collector.Host.Metrics.Sum("collector_exporter_send_failed_spans_total", ("exporter", "otlphttp"));
}
