using System.Collections.Concurrent;
using Collector.Pipeline;
using Collector.Pipeline.Spool;
using Collector.Pipeline.Telemetry;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Collector.Tests.Spool;

/// <summary>A temp directory per test, a fresh metrics registry and a log sink to assert on.</summary>
public abstract class SpoolTestBase
{
    protected const string Exporter = "otlp/test";
    protected const long MiB = 1024 * 1024;

    protected string Dir { get; private set; } = "";

    internal SelfMetrics Metrics { get; private set; } = new();

    internal LogCollector Logs { get; private set; } = new();

    private readonly List<DiskSpool> _opened = [];

    [SetUp]
    public void CreateDirectory()
    {
        Dir = Path.Combine(Path.GetTempPath(), "spool-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        Metrics = new SelfMetrics();
        Logs = new LogCollector();
    }

    [TearDown]
    public void DeleteDirectory()
    {
        foreach (var spool in _opened)
        {
            spool.Dispose();
        }

        _opened.Clear();
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    internal DiskSpool Open(
        long maxBytes = 5 * MiB,
        SpoolFullPolicy onFull = SpoolFullPolicy.Reject,
        string? directory = null,
        string name = Exporter,
        TimeSpan? reopenInterval = null,
        Func<string, SpoolBudget, ISpoolStore>? openStore = null,
        TimeSpan? fileCheckInterval = null)
    {
        var spool = DiskSpool.Open(directory ?? Dir, name, maxBytes, onFull, Logs.Logger, Metrics, Exporter, reopenInterval, openStore: openStore, fileCheckInterval: fileCheckInterval);
        _opened.Add(spool);
        return spool;
    }

    internal string DatabasePath(string name = Exporter) => Path.Combine(Dir, SpoolFiles.FileNameFor(name));

    internal static byte[] RandomPayload(Random random, int length)
    {
        var payload = new byte[length];
        random.NextBytes(payload);
        return payload;
    }

    internal static SpoolAppendResult Append(DiskSpool spool, byte[] payload, int items = 1, Signal signal = Signal.Traces) =>
        spool.TryAppend(signal, payload, items);

    /// <summary>Leases everything left, in order, without deleting.</summary>
    internal static List<SpoolEntry> LeaseAll(DiskSpool spool)
    {
        var entries = new List<SpoolEntry>();
        while (spool.TryLeaseOldest(null, out var entry))
        {
            entries.Add(entry);
        }

        return entries;
    }

    internal long Counter(string name, params (string Key, string Value)[] labels) =>
        (long)Metrics.Sum(name, [("exporter", Exporter), .. labels]);

    internal sealed class LogCollector : ILogEventSink
    {
        public LogCollector() => Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(this).CreateLogger();

        public ILogger Logger { get; }

        public ConcurrentQueue<LogEvent> Events { get; } = new();

        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);

        public int Count(LogEventLevel level, string containing) =>
            Events.Count(e => e.Level == level && e.RenderMessage().Contains(containing, StringComparison.Ordinal));
    }
}
