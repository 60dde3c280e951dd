using Collector.Exporters.Langtrace;
using Collector.Pipeline;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>The exporter's regrouping: acks follow the spans, groups are bounded, nothing is lost.</summary>
public sealed class LangtraceRequestBatcherTests
{
    [Test]
    public void A_batch_spread_over_several_requests_is_acknowledged_when_all_of_them_are()
    {
        var batcher = new LangtraceRequestBatcher(batchSize: 2, flushInterval: TimeSpan.FromMinutes(1));
        var ack = new DeliveryAck();
        var batch = LangtraceTestBase.BatchOf(
            LangtraceTestBase.Resource("svc-a", "s", LangtraceTestBase.NewSpan("a1"), LangtraceTestBase.NewSpan("a2"), LangtraceTestBase.NewSpan("a3")),
            LangtraceTestBase.Resource("svc-b", "s", LangtraceTestBase.NewSpan("b1")));
        batch.Acks = [ack];

        var full = batcher.Add(batch, out var becamePending);
        var rest = batcher.Close();

        Assert.That(becamePending, Is.True);
        Assert.That(full!.Single().ItemCount, Is.EqualTo(2), "svc-a reached batch_size");
        Assert.That(rest.Select(b => b.ItemCount), Is.EquivalentTo(new[] { 1, 1 }), "svc-a's third span and svc-b's");
        var pieces = full!.Concat(rest).ToList();
        Assert.That(pieces.All(p => p.Acks!.Single() == ack), Is.True);
        Assert.That(pieces.Sum(p => p.Resources.Single().ScopeSpans.Single().Spans.Count), Is.EqualTo(4));

        pieces[0].CompleteAcks();
        pieces[1].CompleteAcks();
        Assert.That(ack.Task.IsCompleted, Is.False, "one request still holds data of the batch");
        pieces[2].CompleteAcks();
        Assert.That(ack.Task.Result, Is.Null, "completed, not failed");
    }

    [Test]
    public void Held_groups_are_bounded_and_sent_when_a_new_one_would_exceed_the_bound()
    {
        var batcher = new LangtraceRequestBatcher(batchSize: 50, flushInterval: TimeSpan.FromMinutes(1));
        var sent = 0;
        for (var i = 0; i <= LangtraceRequestBatcher.MaxGroups; i++)
        {
            var ready = batcher.Add(LangtraceTestBase.BatchOf(LangtraceTestBase.Resource($"svc-{i}", "s", LangtraceTestBase.NewSpan($"span-{i}"))), out _);
            sent += ready?.Sum(b => b.ItemCount) ?? 0;
        }

        Assert.That(sent, Is.EqualTo(LangtraceRequestBatcher.MaxGroups), "the held groups left when group 1025 arrived");
        Assert.That(batcher.Close().Single().ItemCount, Is.EqualTo(1));
    }

    [Test]
    public void A_batch_after_close_is_handed_back_whole()
    {
        var batcher = new LangtraceRequestBatcher(batchSize: 50, flushInterval: TimeSpan.FromMinutes(1));
        batcher.Close();
        var batch = LangtraceTestBase.BatchOf(LangtraceTestBase.Resource("svc", "s", LangtraceTestBase.NewSpan("late")));

        Assert.That(batcher.Add(batch, out _)!.Single(), Is.SameAs(batch));
    }

    [Test]
    public void Due_groups_leave_and_the_wait_for_the_next_is_reported()
    {
        var batcher = new LangtraceRequestBatcher(batchSize: 50, flushInterval: TimeSpan.FromSeconds(10));
        batcher.Add(LangtraceTestBase.BatchOf(LangtraceTestBase.Resource("svc", "s", LangtraceTestBase.NewSpan("x"))), out _);

        Assert.That(batcher.TakeDue(DateTimeOffset.UtcNow, out var wait), Is.Null);
        Assert.That(wait, Is.GreaterThan(TimeSpan.FromSeconds(9)).And.LessThanOrEqualTo(TimeSpan.FromSeconds(10)));
        var due = batcher.TakeDue(DateTimeOffset.UtcNow.AddSeconds(11), out wait);
        Assert.That(due!.Single().ItemCount, Is.EqualTo(1));
        Assert.That(wait, Is.Null, "nothing left waiting");
    }
}
