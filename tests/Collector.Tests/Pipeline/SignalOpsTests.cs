using Collector.Pipeline;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Core;

public sealed class SignalOpsTests
{
    [Test]
    public void SplitOff_moves_exactly_the_budget_from_the_front_and_keeps_order()
    {
        var source = TestData.Spans(resources: 3, scopesPerResource: 2, spansPerScope: 5);
        var before = TestData.SpanNames([Batch<ResourceSpans>.Create(source.Clone())]);
        var ops = SignalOps<ResourceSpans>.Instance;

        var parts = new List<Batch<ResourceSpans>>();
        while (source.Count > 0)
        {
            var part = ops.SplitOff(source, 7, out var moved);
            Assert.That(ops.CountItems(part), Is.EqualTo(moved));
            Assert.That(moved, Is.LessThanOrEqualTo(7).And.GreaterThan(0));
            parts.Add(Batch<ResourceSpans>.Create(part));
        }

        Assert.That(TestData.SpanNames(parts), Is.EqualTo(before));
        Assert.That(parts.Select(p => p.ItemCount), Is.EqualTo(new[] { 7, 7, 7, 7, 2 }));
    }

    [Test]
    public void SplitOff_copies_resource_headers_so_halves_share_no_mutable_object()
    {
        var source = TestData.Spans(1, 1, 4);
        var part = SignalOps<ResourceSpans>.Instance.SplitOff(source, 2, out _);

        part[0].Resource.Attributes[0].Value.StringValue = "changed";

        Assert.That(source[0].Resource.Attributes[0].Value.StringValue, Is.EqualTo("svc-0"));
        Assert.That(source[0].ScopeSpans[0].Spans, Has.Count.EqualTo(2));
    }

    [Test]
    public void Metrics_count_data_points_and_split_whole_metrics()
    {
        var rm = new ResourceMetrics();
        var sm = new ScopeMetrics();
        for (var m = 0; m < 3; m++)
        {
            var gauge = new Gauge();
            for (var p = 0; p < 4; p++)
            {
                gauge.DataPoints.Add(new NumberDataPoint { AsInt = p });
            }

            sm.Metrics.Add(new Metric { Name = $"m{m}", Gauge = gauge });
        }

        rm.ScopeMetrics.Add(sm);
        var source = new Google.Protobuf.Collections.RepeatedField<ResourceMetrics> { rm };
        var ops = SignalOps<ResourceMetrics>.Instance;
        Assert.That(ops.CountItems(source), Is.EqualTo(12));

        var part = ops.SplitOff(source, 6, out var moved);

        Assert.That(moved, Is.EqualTo(4), "a metric's points stay together, so only one 4-point metric fits in 6");
        Assert.That(ops.CountItems(part), Is.EqualTo(4));
        Assert.That(ops.CountItems(source), Is.EqualTo(8));
    }

    [Test]
    public void SplitOff_moves_an_item_heavier_than_the_budget_alone_so_splitting_always_progresses()
    {
        var rm = new ResourceMetrics();
        var sm = new ScopeMetrics();
        var gauge = new Gauge();
        for (var p = 0; p < 10; p++)
        {
            gauge.DataPoints.Add(new NumberDataPoint { AsInt = p });
        }

        sm.Metrics.Add(new Metric { Name = "big", Gauge = gauge });
        rm.ScopeMetrics.Add(sm);
        var source = new Google.Protobuf.Collections.RepeatedField<ResourceMetrics> { rm };

        var part = SignalOps<ResourceMetrics>.Instance.SplitOff(source, 3, out var moved);

        Assert.That(moved, Is.EqualTo(10));
        Assert.That(part, Has.Count.EqualTo(1));
        Assert.That(SignalOps<ResourceMetrics>.Instance.CountItems(source), Is.Zero);
    }
}
