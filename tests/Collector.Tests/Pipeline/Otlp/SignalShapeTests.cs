using Collector.Pipeline.Otlp;
using Collector.Tests.TestSupport;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Core;

/// <summary>The OTLP shape layer: visiting order, removal with pruning, data points.</summary>
public sealed class SignalShapeTests
{
    [Test]
    public void Visit_sees_every_resource_scope_and_item_in_order_for_each_signal()
    {
        var traces = new RepeatedField<ResourceSpans>();
        var logs = new RepeatedField<ResourceLogs>();
        var metrics = new RepeatedField<ResourceMetrics>();
        var expected = new List<string>();
        for (var r = 0; r < 2; r++)
        {
            var rs = new ResourceSpans { Resource = Resource($"r{r}"), SchemaUrl = $"rs{r}" };
            var rl = new ResourceLogs { Resource = Resource($"r{r}"), SchemaUrl = $"rs{r}" };
            var rm = new ResourceMetrics { Resource = Resource($"r{r}"), SchemaUrl = $"rs{r}" };
            expected.Add($"R r{r} rs{r}");
            for (var s = 0; s < 2; s++)
            {
                var scope = new InstrumentationScope { Name = $"s{r}{s}" };
                var ss = new ScopeSpans { Scope = scope, SchemaUrl = $"ss{r}{s}" };
                var sl = new ScopeLogs { Scope = scope, SchemaUrl = $"ss{r}{s}" };
                var sm = new ScopeMetrics { Scope = scope, SchemaUrl = $"ss{r}{s}" };
                expected.Add($"S s{r}{s} ss{r}{s}");
                for (var i = 0; i < 3; i++)
                {
                    var name = $"i{r}{s}{i}";
                    ss.Spans.Add(new Span { Name = name });
                    sl.LogRecords.Add(new LogRecord { EventName = name });
                    sm.Metrics.Add(new Metric { Name = name });
                    expected.Add($"I {name}");
                }

                rs.ScopeSpans.Add(ss);
                rl.ScopeLogs.Add(sl);
                rm.ScopeMetrics.Add(sm);
            }

            traces.Add(rs);
            logs.Add(rl);
            metrics.Add(rm);
        }

        var spanSeen = new Recorder([]);
        OtlpTraces.Visit(traces, ref spanSeen);
        var logSeen = new Recorder([]);
        OtlpLogs.Visit(logs, ref logSeen);
        var metricSeen = new Recorder([]);
        OtlpMetrics.Visit(metrics, ref metricSeen);

        Assert.That(spanSeen.Seen, Is.EqualTo(expected));
        Assert.That(logSeen.Seen, Is.EqualTo(expected));
        Assert.That(metricSeen.Seen, Is.EqualTo(expected));
    }

    [Test]
    public void Visit_keeps_the_visitor_state_across_items_because_it_is_passed_by_ref()
    {
        var counter = new SpanCounter();
        OtlpTraces.Visit(TestData.Spans(3, 2, 5), ref counter);

        Assert.That(counter.Count, Is.EqualTo(30));
    }

    [Test]
    public void RemoveWhere_prunes_emptied_scopes_and_resources_and_keeps_the_rest_identical()
    {
        // r0: s0 all removed, s1 partly; r1: all removed (goes); r2: none removed; r3: an empty scope, untouched.
        var resources = new RepeatedField<ResourceSpans>
        {
            Resource("r0", Scope("s0", "x1", "x2"), Scope("s1", "a", "x3", "b")),
            Resource("r1", Scope("s2", "x4"), Scope("s3", "x5")),
            Resource("r2", Scope("s4", "c")),
            Resource("r3", Scope("s5")),
        };
        var kept = new List<object> { resources[0], resources[0].ScopeSpans[1], resources[2], resources[2].ScopeSpans[0], resources[3], resources[3].ScopeSpans[0] };
        var keptSpans = new List<Span> { resources[0].ScopeSpans[1].Spans[0], resources[0].ScopeSpans[1].Spans[2], resources[2].ScopeSpans[0].Spans[0] };
        var r2Before = resources[2].Clone();

        var filter = new NamedX();
        var removed = OtlpTraces.RemoveWhere(resources, ref filter);

        Assert.That(removed, Is.EqualTo(5));
        Assert.That(filter.Asked, Is.EqualTo(8), "every item is asked once");
        Assert.That(resources.Select(r => r.Resource.Attributes[0].Value.StringValue), Is.EqualTo(new[] { "r0", "r2", "r3" }));
        Assert.That(resources[0].ScopeSpans.Select(s => s.Scope.Name), Is.EqualTo(new[] { "s1" }));
        Assert.That(resources[2].ScopeSpans, Has.Count.EqualTo(1), "a scope that was empty before is not the removal's to prune");
        Assert.That(resources[1], Is.EqualTo(r2Before));
        object[] after = [resources[0], resources[0].ScopeSpans[0], resources[1], resources[1].ScopeSpans[0], resources[2], resources[2].ScopeSpans[0]];
        for (var i = 0; i < after.Length; i++)
        {
            Assert.That(after[i], Is.SameAs(kept[i]), "kept resources and scopes are the same objects");
        }

        Assert.That(resources.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans), Is.EqualTo(keptSpans).Using<Span>(ReferenceEquals), "kept items keep their order and objects");
    }

    [Test]
    public void RemoveWhere_with_nothing_to_remove_changes_nothing()
    {
        var resources = TestData.Spans(2, 2, 3);
        var before = resources.Clone();
        var filter = new NamedX();

        Assert.That(OtlpTraces.RemoveWhere(resources, ref filter), Is.Zero);
        Assert.That(resources, Is.EqualTo(before));
    }

    [Test]
    public void RemoveWhere_prunes_log_scopes_and_resources_too()
    {
        var resources = new RepeatedField<ResourceLogs>
        {
            new ResourceLogs { ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { EventName = "x" } } } } },
            new ResourceLogs { ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { EventName = "x" }, new LogRecord { EventName = "keep" } } } } },
        };

        Assert.That(OtlpLogs.RemoveWhere<EventX>(resources), Is.EqualTo(2));
        Assert.That(resources, Has.Count.EqualTo(1));
        Assert.That(resources[0].ScopeLogs[0].LogRecords.Select(l => l.EventName), Is.EqualTo(new[] { "keep" }));
    }

    [Test]
    public void MetricPoints_visits_every_kind_of_point_and_counts_them()
    {
        var metrics = new[]
        {
            new Metric { Gauge = new Gauge { DataPoints = { new NumberDataPoint(), new NumberDataPoint() } } },
            new Metric { Sum = new Sum { DataPoints = { new NumberDataPoint() } } },
            new Metric { Histogram = new Histogram { DataPoints = { new HistogramDataPoint() } } },
            new Metric { ExponentialHistogram = new ExponentialHistogram { DataPoints = { new ExponentialHistogramDataPoint(), new ExponentialHistogramDataPoint() } } },
            new Metric { Summary = new Summary { DataPoints = { new SummaryDataPoint() } } },
            new Metric { Name = "no data" },
        };
        var kinds = new PointKinds([]);
        foreach (var metric in metrics)
        {
            MetricPoints.Visit(metric, ref kinds);
        }

        Assert.That(kinds.Seen, Is.EqualTo(new[] { "number", "number", "number", "histogram", "exponential", "exponential", "summary" }));
        Assert.That(metrics.Select(MetricPoints.Count), Is.EqualTo(new[] { 2, 1, 1, 2, 1, 0 }));
        Assert.That(OtlpMetrics.CountItems(new RepeatedField<ResourceMetrics> { new ResourceMetrics { ScopeMetrics = { new ScopeMetrics { Metrics = { metrics } } } } }), Is.EqualTo(7));
    }

    private static Resource Resource(string name) => new() { Attributes = { TestData.Attr("service.name", name) } };

    private static ResourceSpans Resource(string name, params ScopeSpans[] scopes)
    {
        var resource = new ResourceSpans { Resource = Resource(name) };
        resource.ScopeSpans.Add(scopes);
        return resource;
    }

    private static ScopeSpans Scope(string name, params string[] spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = name } };
        foreach (var span in spans)
        {
            scope.Spans.Add(new Span { Name = span });
        }

        return scope;
    }

    private readonly struct Recorder(List<string> seen) : IOtlpVisitor<Span>, IOtlpVisitor<LogRecord>, IOtlpVisitor<Metric>
    {
        public List<string> Seen => seen;

        public void Resource(Resource? resource, string schemaUrl) => seen.Add($"R {resource?.Attributes[0].Value.StringValue} {schemaUrl}");

        public void Scope(InstrumentationScope? scope, string schemaUrl) => seen.Add($"S {scope?.Name} {schemaUrl}");

        public void Item(Span item) => seen.Add($"I {item.Name}");

        public void Item(LogRecord item) => seen.Add($"I {item.EventName}");

        public void Item(Metric item) => seen.Add($"I {item.Name}");
    }

    private struct SpanCounter : IOtlpVisitor<Span>
    {
        public int Count { get; private set; }

        public readonly void Resource(Resource? resource, string schemaUrl)
        {
        }

        public readonly void Scope(InstrumentationScope? scope, string schemaUrl)
        {
        }

        public void Item(Span item) => Count++;
    }

    /// <summary>Removes spans whose name starts with x; counts the questions.</summary>
    private struct NamedX : IOtlpFilter<ResourceSpans, ScopeSpans, Span>
    {
        public int Asked { get; private set; }

        public bool Remove(ResourceSpans resource, ScopeSpans scope, Span item)
        {
            Asked++;
            return item.Name.StartsWith('x');
        }
    }

    private readonly struct EventX : IOtlpFilter<ResourceLogs, ScopeLogs, LogRecord>
    {
        public bool Remove(ResourceLogs resource, ScopeLogs scope, LogRecord item) => item.EventName == "x";
    }

    private readonly struct PointKinds(List<string> seen) : IDataPointVisitor
    {
        public List<string> Seen => seen;

        public void Point(NumberDataPoint point) => seen.Add("number");

        public void Point(HistogramDataPoint point) => seen.Add("histogram");

        public void Point(ExponentialHistogramDataPoint point) => seen.Add("exponential");

        public void Point(SummaryDataPoint point) => seen.Add("summary");
    }
}
