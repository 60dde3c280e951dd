using BenchmarkDotNet.Attributes;
using Collector.LoadGen;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Spool;
using Collector.Pipeline.Telemetry;
using Collector.Processors.Batch;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Bench;

/// <summary>The load generator's <c>testbed</c> request every hot-path benchmark uses: 100 spans, 50 attributes each.</summary>
internal static class HotPathData
{
    public const int SpansPerRequest = 100;

    public static PayloadTemplate Testbed() => Workloads.Create("testbed", SpansPerRequest, 50);

    /// <summary>Encoded with real (unique, valid) ids, as a client sends it.</summary>
    public static byte[] Protobuf(PayloadTemplate template) => template.Render(0, json: false);

    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("benchmark setup check failed: " + what);
        }
    }
}

/// <summary>
/// Receiving one testbed request: full protobuf decode (the path for requests the collector must look
/// into) against the wire scanner the receivers run first (structure, ids and span count, no objects),
/// after which a request is forwarded as bytes. Per span (OperationsPerInvoke); per request = 100 x.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class HotPathDecodeBenchmarks
{
    private byte[] _request = [];

    [GlobalSetup]
    public void Setup()
    {
        _request = HotPathData.Protobuf(HotPathData.Testbed());
        HotPathData.Check(OtlpWireScanner.TryScan(Signal.Traces, _request, out var items) && items == HotPathData.SpansPerRequest, "the scanner accepts the request and counts its spans");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = HotPathData.SpansPerRequest)]
    public ExportTraceServiceRequest Protobuf_parse() => ExportTraceServiceRequest.Parser.ParseFrom(_request);

    [Benchmark(OperationsPerInvoke = HotPathData.SpansPerRequest)]
    public int Wire_scan()
    {
        OtlpWireScanner.TryScan(Signal.Traces, _request, out var items);
        return items;
    }
}

/// <summary>
/// The batch processor (send_batch_size 8192, made by its factory) fed 100-span requests: each
/// invocation pushes 82 requests, so exactly one size-triggered send of 8200 spans reaches the
/// recording consumer. Includes making each request's Batch as the receiver does (FromEncoded, or a
/// one-resource list for the decoded path); the timeout is an hour so the timer loop never sends.
/// Per span (OperationsPerInvoke); per request = 100 x.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class HotPathBatchBenchmarks
{
    private const int SendBatchSize = 8192;
    private const int RequestsPerSend = (SendBatchSize / HotPathData.SpansPerRequest) + 1;
    private const int SpansPerInvoke = RequestsPerSend * HotPathData.SpansPerRequest;

    private readonly RecordingConsumer _sink = new();
    private IProcessor<ResourceSpans> _processor = null!;
    private byte[] _encoded = [];
    private ResourceSpans _decoded = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var template = HotPathData.Testbed();
        _encoded = HotPathData.Protobuf(template);
        _decoded = ExportTraceServiceRequest.Parser.ParseFrom(_encoded).ResourceSpans[0];
        var context = new ComponentContext(new ComponentId("batch", ""), Serilog.Core.Logger.None, new SelfMetrics(), new SharedComponents()) { PipelineId = "traces" };
        var config = new BatchConfig { SendBatchSize = SendBatchSize, Timeout = TimeSpan.FromHours(1) };
        _processor = new BatchFactory().CreateProcessor(context, config, _sink);
        await _processor.StartAsync(CancellationToken.None);

        // One send per invocation, and the forwarded path must stay bytes all the way through.
        await Encoded_requests();
        HotPathData.Check(_sink.Sends == 1 && _sink.Items == SpansPerInvoke && _sink.LastWasEncoded, "one encoded send of 8200 spans");
        await Decoded_requests();
        HotPathData.Check(_sink.Sends == 2 && _sink.Items == 2 * SpansPerInvoke && !_sink.LastWasEncoded, "one decoded send of 8200 spans");
    }

    [GlobalCleanup]
    public Task CleanupAsync() => _processor.ShutdownAsync(CancellationToken.None);

    [Benchmark(Baseline = true, OperationsPerInvoke = SpansPerInvoke)]
    public async Task Encoded_requests()
    {
        for (var i = 0; i < RequestsPerSend; i++)
        {
            await _processor.ConsumeAsync(Batch<ResourceSpans>.FromEncoded(_encoded, HotPathData.SpansPerRequest, _encoded.Length, null), CancellationToken.None);
        }
    }

    /// <summary>The same resource object in every request: the processor only moves references.</summary>
    [Benchmark(OperationsPerInvoke = SpansPerInvoke)]
    public async Task Decoded_requests()
    {
        for (var i = 0; i < RequestsPerSend; i++)
        {
            await _processor.ConsumeAsync(new Batch<ResourceSpans>([_decoded], HotPathData.SpansPerRequest, _encoded.Length), CancellationToken.None);
        }
    }

    private sealed class RecordingConsumer : IConsumer<ResourceSpans>
    {
        public int Sends;
        public long Items;
        public bool LastWasEncoded;

        public bool MutatesData => false;

        public ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
        {
            Sends++;
            Items += batch.ItemCount;
            LastWasEncoded = batch.TryGetEncoded(out _);
            batch.CompleteAcks();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// OTLP/JSON (OtlpJson: protobuf JSON plus hex ids) encode and decode of the testbed request, next
/// to protobuf encode of the same request. Per span (OperationsPerInvoke); per request = 100 x.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class HotPathJsonBenchmarks
{
    private ExportTraceServiceRequest _request = null!;
    private byte[] _json = [];

    [GlobalSetup]
    public void Setup()
    {
        var template = HotPathData.Testbed();
        _request = template.Request;
        _json = template.Render(0, json: true);
        var decoded = OtlpJson.Parse(_json, ExportTraceServiceRequest.Parser);
        HotPathData.Check(decoded.Equals(ExportTraceServiceRequest.Parser.ParseFrom(HotPathData.Protobuf(template))), "JSON and protobuf decode to the same request");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = HotPathData.SpansPerRequest)]
    public byte[] Protobuf_encode() => _request.ToByteArray();

    [Benchmark(OperationsPerInvoke = HotPathData.SpansPerRequest)]
    public byte[] Json_encode() => OtlpJson.FormatUtf8(_request);

    [Benchmark(OperationsPerInvoke = HotPathData.SpansPerRequest)]
    public ExportTraceServiceRequest Json_decode() => OtlpJson.Parse(_json, ExportTraceServiceRequest.Parser);
}

/// <summary>
/// Write-ahead spooling of one forwarded 100-span batch (about 234 KB) into a real SQLite spool
/// (50 MiB cap, the default) in a temp directory: what the exporter helper does before the client is
/// answered (ToRequestBytes, then TryAppend leased, which returns after the commit). Per batch
/// (OperationsPerInvoke), not per span. <c>Append_commit</c> writes 48 batches per invocation and
/// deletes them afterwards, untimed, so the spool stays far below its cap (WAL checkpoints included);
/// <c>Append_commit_then_delete</c> is a batch's whole spool life when the backend takes it.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class HotPathSpoolBenchmarks
{
    private const int AppendsPerInvoke = 48;

    private readonly List<long> _appended = new(AppendsPerInvoke);
    private string _directory = string.Empty;
    private DiskSpool _spool = null!;
    private byte[] _encoded = [];

    [GlobalSetup]
    public void Setup()
    {
        _encoded = HotPathData.Protobuf(HotPathData.Testbed());
        _directory = Directory.CreateTempSubdirectory("collector-bench-spool-").FullName;
        _spool = DiskSpool.Open(_directory, "otlphttp", 50L << 20, SpoolFullPolicy.Reject, Serilog.Core.Logger.None, new SelfMetrics(), "otlphttp");
        HotPathData.Check(_spool.IsAvailable && _encoded.Length * AppendsPerInvoke * 2 < _spool.CapBytes, "spool open, one invocation far below the cap");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _spool.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = AppendsPerInvoke)]
    public void Append_commit()
    {
        for (var i = 0; i < AppendsPerInvoke; i++)
        {
            _appended.Add(Append());
        }
    }

    [IterationCleanup(Target = nameof(Append_commit))]
    public void DeleteAppended()
    {
        foreach (var id in _appended)
        {
            HotPathData.Check(_spool.Delete(id), "appended batch deleted");
        }

        _appended.Clear();
    }

    [Benchmark]
    public bool Append_commit_then_delete() => _spool.Delete(Append());

    private long Append()
    {
        var batch = Batch<ResourceSpans>.FromEncoded(_encoded, HotPathData.SpansPerRequest, _encoded.Length, null);
        var result = _spool.TryAppend(Signal.Traces, batch.ToRequestBytes(), batch.ItemCount, lease: true);
        HotPathData.Check(result.Status == SpoolAppendStatus.Appended, "append committed");
        return result.Id;
    }
}
