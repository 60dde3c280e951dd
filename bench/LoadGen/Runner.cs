using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Google.Protobuf;

namespace Collector.LoadGen;

/// <summary>The measured outcome of one rate step.</summary>
internal sealed record StepResult
{
    public required double TargetSpansPerSecond { get; init; }

    public required double AchievedSpansPerSecond { get; init; }

    public required double Seconds { get; init; }

    public required long RequestsSent { get; init; }

    public required long SpansAcked { get; init; }

    /// <summary>Acked spans expected at the sink: all of them, less those a dual-link merge drops.</summary>
    public required long SpansExpected { get; init; }

    /// <summary>Distinct spans of this step that reached the sink.</summary>
    public required long SpansReceived { get; init; }

    /// <summary>Expected spans that did not reach the sink.</summary>
    public required long SpansLost { get; init; }

    public required long Duplicates { get; init; }

    public required Dictionary<string, long> Errors { get; init; }

    public required double P50Ms { get; init; }

    public required double P99Ms { get; init; }

    public required double CollectorCpuPercentOfOneCore { get; init; }

    /// <summary>The load generator's own CPU (client and sink), to see whether it limits the run.</summary>
    public required double LoadGenCpuPercentOfOneCore { get; init; }

    public required double RssAvgMiB { get; init; }

    public required double RssMaxMiB { get; init; }

    public required double RssFirstMiB { get; init; }

    public required double RssLastMiB { get; init; }

    public bool Clean(Options options) =>
        SpansLost == 0 && Errors.Count == 0 && P99Ms <= options.MaxP99.TotalMilliseconds && AchievedSpansPerSecond >= 0.95 * TargetSpansPerSecond;
}

/// <summary>Runs the collector child, the sink and the client; one call per rate step.</summary>
internal sealed class Runner : IAsyncDisposable
{
    private readonly Options _options;
    private readonly PayloadTemplate _template;
    private readonly Sink _sink;
    private readonly CollectorChild _collector;
    private readonly Client _client;
    private readonly string _spoolDirectory;
    private readonly int[] _expectedSpans;
    private long _nextRequest;

    private Runner(Options options, PayloadTemplate template, Sink sink, CollectorChild collector, Client client, string spoolDirectory)
    {
        _options = options;
        _template = template;
        _sink = sink;
        _collector = collector;
        _client = client;
        _spoolDirectory = spoolDirectory;
        _expectedSpans = CollectorConfigFile.MergesDualLinks(options.Config) ? template.DualLinkSurvivors : template.AllSpans;
    }

    public CollectorChild Collector => _collector;

    public static async Task<Runner> StartAsync(Options options, PayloadTemplate template)
    {
        var sink = await Sink.StartAsync();
        int grpc = FreePort(), http = FreePort();
        var spool = Path.Combine(Path.GetTempPath(), $"loadgen-spool-{Environment.ProcessId}");
        var collector = CollectorChild.Start(options, new Dictionary<string, string>
        {
            ["LOADGEN_GRPC_ENDPOINT"] = $"127.0.0.1:{grpc}",
            ["LOADGEN_HTTP_ENDPOINT"] = $"127.0.0.1:{http}",
            ["LOADGEN_SINK"] = $"http://127.0.0.1:{sink.Port}",
            ["LOADGEN_SPOOL_DIR"] = spool,
        });
        await WaitForPortAsync(options.Protocol == Protocol.Grpc ? grpc : http, collector);
        return new Runner(options, template, sink, collector, new Client(options.Protocol, grpc, http), spool);
    }

    /// <summary>Runs the same load unrecorded so that JIT tiering and pools settle; its requests use their own sequence numbers and are drained.</summary>
    public async Task WarmUpAsync(double spansPerSecond, TimeSpan duration)
    {
        Console.Error.WriteLine($"warm-up {duration.TotalSeconds:0}s (not reported)");
        var step = await RunStepAsync(spansPerSecond, duration);
        Console.Error.WriteLine($"warm-up done: {step.SpansReceived:N0} of {step.SpansExpected:N0} expected spans received, {step.SpansLost:N0} lost");
    }

    public async Task<StepResult> RunStepAsync(double spansPerSecond, TimeSpan duration)
    {
        var requestsPerSecond = spansPerSecond / _template.SpanCount;
        var total = (long)Math.Ceiling(requestsPerSecond * duration.TotalSeconds);
        var firstRequest = _nextRequest;
        _nextRequest += total;
        var latencies = new double[total];
        var acked = new ConcurrentQueue<long>();
        var errors = new ConcurrentDictionary<string, long>();
        long sent = 0, ackedSpans = 0, issued = -1, firstAck = long.MaxValue, lastAck = 0;
        var rss = new List<long>();
        var receivedBefore = _sink.Received.Unique;
        var duplicatesBefore = _sink.Received.Duplicates;
        var cpuStart = _collector.CpuTime();
        var ownCpuStart = Environment.CpuUsage.TotalTime;
        var started = Stopwatch.GetTimestamp();

        async Task Worker()
        {
            while (true)
            {
                var k = Interlocked.Increment(ref issued);
                if (k >= total)
                {
                    return;
                }

                // Open loop: request k is due at k / rate; a late worker sends at once to catch up.
                var due = TimeSpan.FromSeconds(k / requestsPerSecond) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due);
                }

                var seq = firstRequest + k;
                var payload = _template.Render(seq, _client.Json);
                var t0 = Stopwatch.GetTimestamp();
                var error = await _client.SendAsync(payload);
                var answered = Stopwatch.GetTimestamp();
                InterlockedExtend(ref firstAck, answered, later: false);
                InterlockedExtend(ref lastAck, answered, later: true);
                latencies[k] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                Interlocked.Increment(ref sent);
                if (error is null)
                {
                    acked.Enqueue(seq);
                    Interlocked.Add(ref ackedSpans, _template.SpanCount);
                }
                else
                {
                    errors.AddOrUpdate(error, 1, (_, n) => n + 1);
                }
            }
        }

        var workers = new Task[_options.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(Worker);
        }

        var all = Task.WhenAll(workers);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(1000));
            rss.Add(_collector.Rss());
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Console.Error.Write($"\r  target {spansPerSecond,9:N0} spans/s | {elapsed,5:0}s | sent {Interlocked.Read(ref sent) * _template.SpanCount,11:N0} | acked {Interlocked.Read(ref ackedSpans),11:N0} | received {_sink.Received.Unique,11:N0} | errors {errors.Values.Sum(),6:N0} | rate {Interlocked.Read(ref ackedSpans) / Math.Max(elapsed, 0.001),9:N0}/s   ");
        }

        await all;
        var wall = Stopwatch.GetElapsedTime(started);
        var cpu = _collector.CpuTime() - cpuStart;
        var ownCpu = Environment.CpuUsage.TotalTime - ownCpuStart;
        Console.Error.WriteLine();

        // Drain: wait until every expected span of the acknowledged requests reached the sink, or progress
        // stops for 15 s (longer than langtrace_merge's wait plus a batch timeout).
        var lastReceived = -1L;
        var stalledSince = Stopwatch.GetTimestamp();
        while (true)
        {
            var received = _sink.Received.Unique;
            // The sink's set spans every step: compare this step's arrivals with what this step's acks expect.
            if (received - receivedBefore >= CountExpected(acked) || Stopwatch.GetElapsedTime(stalledSince) > TimeSpan.FromSeconds(15))
            {
                break;
            }

            if (received != lastReceived)
            {
                lastReceived = received;
                stalledSince = Stopwatch.GetTimestamp();
            }

            await Task.Delay(100);
        }

        long lost = 0;
        foreach (var seq in acked)
        {
            foreach (var i in _expectedSpans)
            {
                if (!_sink.Received.Contains(_template.SpanSequence(seq, i)))
                {
                    lost++;
                }
            }
        }

        Array.Sort(latencies);
        var p50 = Percentile(latencies, 0.50);
        // Little's law: with every worker waiting p50 for its answer, the client cannot send faster than this.
        var clientBound = _options.Concurrency / Math.Max(p50 / 1000, 1e-6) * _template.SpanCount;
        if (clientBound < spansPerSecond)
        {
            Console.Error.WriteLine($"  client-bound: {_options.Concurrency} concurrent requests at p50 {p50:0} ms carry at most {clientBound:N0} spans/s; raise --concurrency");
        }

        return new StepResult
        {
            TargetSpansPerSecond = spansPerSecond,
            // Between the first and the last answer (+ one request interval): a constant hold (write_ahead
            // behind langtrace_merge) shifts both ends and cancels out, a growing backlog stretches the window.
            AchievedSpansPerSecond = ackedSpans / (Stopwatch.GetElapsedTime(Math.Min(firstAck, lastAck), lastAck).TotalSeconds + (1 / requestsPerSecond)),
            Seconds = wall.TotalSeconds,
            RequestsSent = sent,
            SpansAcked = ackedSpans,
            SpansExpected = CountExpected(acked),
            SpansReceived = _sink.Received.Unique - receivedBefore,
            SpansLost = lost,
            Duplicates = _sink.Received.Duplicates - duplicatesBefore,
            Errors = new Dictionary<string, long>(errors),
            P50Ms = p50,
            P99Ms = Percentile(latencies, 0.99),
            CollectorCpuPercentOfOneCore = 100 * cpu.TotalSeconds / wall.TotalSeconds,
            LoadGenCpuPercentOfOneCore = 100 * ownCpu.TotalSeconds / wall.TotalSeconds,
            RssAvgMiB = rss.Count == 0 ? 0 : rss.Average() / (1 << 20),
            RssMaxMiB = rss.Count == 0 ? 0 : rss.Max() / (double)(1 << 20),
            RssFirstMiB = rss.Count == 0 ? 0 : rss[0] / (double)(1 << 20),
            RssLastMiB = rss.Count == 0 ? 0 : rss[^1] / (double)(1 << 20),
        };
    }

    /// <summary>Raw Google.Protobuf decode + encode of the same request on one core: the practical ceiling.</summary>
    public static double MeasureCeiling(PayloadTemplate template, TimeSpan duration)
    {
        var bytes = template.Render(0, json: false);
        var spans = 0L;
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            var request = ExportTraceServiceRequest.Parser.ParseFrom(bytes);
            _ = request.ToByteArray();
            spans += template.SpanCount;
        }

        return spans / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _collector.StopAsync();
        _collector.Dispose();
        await _sink.DisposeAsync();
        if (Directory.Exists(_spoolDirectory))
        {
            Directory.Delete(_spoolDirectory, recursive: true);
        }
    }

    private long CountExpected(ConcurrentQueue<long> acked) => (long)acked.Count * _expectedSpans.Length;

    private static double Percentile(double[] sorted, double p)
    {
        var n = 0;
        while (n < sorted.Length && sorted[n] == 0)
        {
            n++;
        }

        var valid = sorted.Length - n;
        return valid == 0 ? 0 : sorted[n + Math.Min(valid - 1, (int)(p * valid))];
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port, CollectorChild collector)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (collector.HasExited)
            {
                throw new InvalidOperationException("the collector exited during start-up (check its config)");
            }

            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"the collector did not listen on {port}");
    }

    /// <summary>Moves <paramref name="target"/> to <paramref name="value"/> when that is later (or earlier) than it, atomically.</summary>
    private static void InterlockedExtend(ref long target, long value, bool later)
    {
        var current = Interlocked.Read(ref target);
        while ((later ? value > current : value < current) && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }
}
