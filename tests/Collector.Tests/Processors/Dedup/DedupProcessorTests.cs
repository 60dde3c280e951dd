using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Telemetry;
using Collector.Processors.Dedup;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.Dedup;

public sealed class DedupProcessorTests
{
    private SelfMetrics _metrics = null!;
    private ManualTime _time = null!;

    [SetUp]
    public void SetUp()
    {
        _metrics = new SelfMetrics();
        _time = new ManualTime();
    }

    private (IProcessor<T> Processor, RecordingConsumer<T> Next) Create<T>(TimeSpan? window = null, int maxEntries = 1000)
        where T : class, IMessage<T>
    {
        var next = new RecordingConsumer<T>();
        var config = new DedupConfig { Window = window ?? TimeSpan.FromMinutes(10), MaxEntries = maxEntries };
        return (DedupFactory.Create(TestData.Context("dedup", _metrics), config, next, _time), next);
    }

    private double Metric(string name) => _metrics.Read(name, ("processor", "dedup"));

    // ---- spans ------------------------------------------------------------------------------------

    [Test]
    public async Task A_client_retry_of_the_same_request_is_dropped_whole_and_its_acks_complete()
    {
        var (processor, next) = Create<ResourceSpans>();
        var request = TestData.Spans(2, 2, 3);
        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(request.Clone()), CancellationToken.None);
        var retry = Batch<ResourceSpans>.Create(request.Clone());
        var ack = new DeliveryAck();
        retry.Acks = [ack];

        await processor.ConsumeAsync(retry, CancellationToken.None);

        Assert.That(next.Batches, Has.Count.EqualTo(1), "the empty retry batch is not passed on");
        Assert.That(next.ItemCount, Is.EqualTo(12));
        Assert.That(ack.Task.IsCompletedSuccessfully && ack.Task.Result is null, Is.True, "the dropped batch's ack is settled as delivered");
        Assert.That(Metric("collector_processor_dedup_dropped_spans_total"), Is.EqualTo(12));
    }

    [Test]
    public async Task Only_duplicates_are_removed_and_the_batch_stays_consistent()
    {
        var (processor, next) = Create<ResourceSpans>();
        var first = TestData.Spans(1, 1, 4);
        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(first.Clone()), CancellationToken.None);

        // A new request: resource 0 repeats two old spans plus one new; resource 1 holds only old spans in two scopes.
        var old = first[0].ScopeSpans[0].Spans;
        var fresh = TestData.Span("fresh");
        var mixed = new ResourceSpans { Resource = new Resource(), ScopeSpans = { new ScopeSpans { Spans = { old[0].Clone(), fresh, old[1].Clone() } } } };
        var allOld = new ResourceSpans
        {
            Resource = new Resource(),
            ScopeSpans = { new ScopeSpans { Spans = { old[2].Clone() } }, new ScopeSpans { Spans = { old[3].Clone() } } },
        };
        var batch = Batch<ResourceSpans>.Create([mixed, allOld]);
        Assert.That(batch.ItemCount, Is.EqualTo(5));

        await processor.ConsumeAsync(batch, CancellationToken.None);

        var passed = next.Batches[1];
        Assert.That(passed.ItemCount, Is.EqualTo(1));
        Assert.That(passed.Resources, Has.Count.EqualTo(1), "the resource left empty is removed");
        Assert.That(passed.Resources[0].ScopeSpans.Single().Spans.Single().Name, Is.EqualTo("fresh"));
        Assert.That(Metric("collector_processor_dedup_dropped_spans_total"), Is.EqualTo(4));
    }

    [Test]
    public async Task A_duplicate_inside_one_batch_keeps_the_first_copy()
    {
        var (processor, next) = Create<ResourceSpans>();
        var span = TestData.Span("original");
        var copy = span.Clone();
        copy.Name = "copy";
        var batch = Batch<ResourceSpans>.Create([new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span, copy } } } }]);

        await processor.ConsumeAsync(batch, CancellationToken.None);

        Assert.That(TestData.SpanNames(next.Batches), Is.EqualTo(new[] { "original" }));
        Assert.That(next.Batches[0].ItemCount, Is.EqualTo(1));
    }

    [Test]
    public async Task A_span_seen_again_after_the_window_passes()
    {
        var (processor, next) = Create<ResourceSpans>(window: TimeSpan.FromSeconds(30));
        var request = TestData.Spans(1, 1, 2);

        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(request.Clone()), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(29));
        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(request.Clone()), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(2));
        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(request.Clone()), CancellationToken.None);

        Assert.That(next.ItemCount, Is.EqualTo(4), "first and third delivery pass, the second is within 30s");
        Assert.That(Metric("collector_processor_dedup_dropped_spans_total"), Is.EqualTo(2));
    }

    [Test]
    public async Task Spans_with_missing_or_invalid_ids_pass_unchecked()
    {
        var (processor, next) = Create<ResourceSpans>();
        var noTrace = TestData.Span("no-trace");
        noTrace.TraceId = ByteString.Empty;
        var shortSpan = TestData.Span("short-span-id");
        shortSpan.SpanId = ByteString.CopyFrom(1, 2, 3);
        var zeroSpan = TestData.Span("zero-span-id");
        zeroSpan.SpanId = ByteString.CopyFrom(new byte[8]);
        var zeroTrace = TestData.Span("zero-trace-id");
        zeroTrace.TraceId = ByteString.CopyFrom(new byte[16]);
        RepeatedField<ResourceSpans> Request() => [new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { noTrace.Clone(), shortSpan.Clone(), zeroSpan.Clone(), zeroTrace.Clone() } } } }];

        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(Request()), CancellationToken.None);
        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(Request()), CancellationToken.None);

        Assert.That(next.ItemCount, Is.EqualTo(8));
        Assert.That(Metric("collector_processor_dedup_unchecked_total"), Is.EqualTo(8));
        Assert.That(Metric("collector_processor_dedup_dropped_spans_total"), Is.Zero);
    }

    [Test]
    public async Task Max_entries_bounds_the_table_and_evictions_are_counted()
    {
        var (processor, next) = Create<ResourceSpans>(maxEntries: 100);
        var first = TestData.Spans(1, 1, 1);
        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(first.Clone()), CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            await processor.ConsumeAsync(TestData.SpanBatch(1, 1, 100), CancellationToken.None);
        }

        await processor.ConsumeAsync(Batch<ResourceSpans>.Create(first.Clone()), CancellationToken.None);

        Assert.That(next.ItemCount, Is.EqualTo(1002), "the evicted first span is no longer known");
        Assert.That(Metric("collector_processor_dedup_evicted_total"), Is.EqualTo(902));
        Assert.That(_metrics.Read("collector_processor_dedup_entries", ("processor", "dedup"), ("signal", "traces")), Is.EqualTo(100));
    }

    // ---- logs -------------------------------------------------------------------------------------

    private static LogRecord Log(string body, string eventName = "gen_ai.choice", ulong time = 1_700_000_000_000_000_000)
    {
        var record = new LogRecord
        {
            TimeUnixNano = time,
            TraceId = ByteString.CopyFrom(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }),
            SpanId = ByteString.CopyFrom(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            EventName = eventName,
            Body = new AnyValue { StringValue = body },
        };
        return record;
    }

    private static Batch<ResourceLogs> LogBatch(params LogRecord[] records)
    {
        var scope = new ScopeLogs();
        foreach (var r in records)
        {
            scope.LogRecords.Add(r.Clone());
        }

        return Batch<ResourceLogs>.Create([new ResourceLogs { Resource = new Resource(), ScopeLogs = { scope } }]);
    }

    [Test]
    public async Task A_log_record_with_the_same_identity_is_dropped()
    {
        var (processor, next) = Create<ResourceLogs>();
        var record = Log("hello");

        await processor.ConsumeAsync(LogBatch(record), CancellationToken.None);
        await processor.ConsumeAsync(LogBatch(record), CancellationToken.None);

        Assert.That(next.ItemCount, Is.EqualTo(1));
        Assert.That(Metric("collector_processor_dedup_dropped_log_records_total"), Is.EqualTo(1));
    }

    [Test]
    public async Task Each_part_of_the_log_identity_tells_records_apart()
    {
        var (processor, next) = Create<ResourceLogs>();
        var baseRecord = Log("hello");
        var otherBody = Log("hello!");
        var otherEvent = Log("hello", eventName: "gen_ai.user.message");
        var otherTime = Log("hello", time: 1_700_000_000_000_000_001);
        var otherSpan = Log("hello");
        otherSpan.SpanId = ByteString.CopyFrom(new byte[] { 9, 9, 9, 9, 9, 9, 9, 9 });
        var otherTrace = Log("hello");
        otherTrace.TraceId = ByteString.CopyFrom(new byte[16]);
        var structuredBody = Log("x");
        structuredBody.Body = new AnyValue { KvlistValue = new KeyValueList { Values = { new KeyValue { Key = "content", Value = new AnyValue { StringValue = "hello" } } } } };
        var attributeEventName = Log("hello", eventName: string.Empty);
        attributeEventName.Attributes.Add(new KeyValue { Key = "event.name", Value = new AnyValue { StringValue = "tool_use" } });
        var differentAttributesOnly = Log("hello");
        differentAttributesOnly.Attributes.Add(new KeyValue { Key = "extra", Value = new AnyValue { StringValue = "not part of the identity" } });

        await processor.ConsumeAsync(LogBatch(baseRecord, otherBody, otherEvent, otherTime, otherSpan, otherTrace, structuredBody, attributeEventName), CancellationToken.None);
        await processor.ConsumeAsync(LogBatch(differentAttributesOnly, attributeEventName), CancellationToken.None);

        Assert.That(next.ItemCount, Is.EqualTo(8));
        Assert.That(Metric("collector_processor_dedup_dropped_log_records_total"), Is.EqualTo(2));
    }

    [Test]
    public async Task Log_records_without_a_time_or_with_malformed_ids_pass_unchecked()
    {
        var (processor, next) = Create<ResourceLogs>();
        var noTime = Log("a", time: 0);
        var observedOnly = Log("b", time: 0);
        observedOnly.ObservedTimeUnixNano = 5;
        var badTrace = Log("c");
        badTrace.TraceId = ByteString.CopyFrom(1, 2, 3);
        var outsideTrace = Log("d");
        outsideTrace.TraceId = ByteString.Empty;
        outsideTrace.SpanId = ByteString.Empty;

        await processor.ConsumeAsync(LogBatch(noTime, observedOnly, badTrace, outsideTrace), CancellationToken.None);
        await processor.ConsumeAsync(LogBatch(noTime, observedOnly, badTrace, outsideTrace), CancellationToken.None);

        Assert.That(next.ItemCount, Is.EqualTo(6), "observed time and records outside a trace still have an identity");
        Assert.That(Metric("collector_processor_dedup_unchecked_total"), Is.EqualTo(4));
        Assert.That(Metric("collector_processor_dedup_dropped_log_records_total"), Is.EqualTo(2));
    }

    // ---- config -----------------------------------------------------------------------------------

    [Test]
    public void Validate_reports_every_error()
    {
        var errors = new ConfigErrors();
        new DedupConfig { Window = TimeSpan.Zero, MaxEntries = 0 }.Validate(errors);

        Assert.That(errors.All, Has.Count.EqualTo(2));
        Assert.That(errors.All, Has.Some.StartsWith("window:"));
        Assert.That(errors.All, Has.Some.StartsWith("max_entries:"));
    }

    [Test]
    public void Yaml_keys_bind_and_the_factory_serves_traces_and_logs_only()
    {
        var registry = CollectorComponents.CreateRegistry(new CaptureExporterFactory(new CaptureStore()));
        var loaded = ConfigLoader.Load("""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
            processors: { dedup: { window: 90s, max_entries: 5000 } }
            exporters: { capture: }
            service: { pipelines: { traces: { receivers: [otlp], processors: [dedup], exporters: [capture] } } }
            """, registry, _ => null);

        Assert.That(loaded.Errors, Is.Empty);
        var config = (DedupConfig)loaded.Config!.Processors.Values.Single();
        Assert.That(config.Window, Is.EqualTo(TimeSpan.FromSeconds(90)));
        Assert.That(config.MaxEntries, Is.EqualTo(5000));
        var factory = new DedupFactory();
        Assert.That(factory.Metadata.Creates(Signal.Traces) && factory.Metadata.Creates(Signal.Logs) && !factory.Metadata.Creates(Signal.Metrics), Is.True);
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
