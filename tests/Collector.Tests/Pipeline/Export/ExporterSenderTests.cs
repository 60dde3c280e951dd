using System.Diagnostics;
using Collector.Exporters.OtlpHttp;
using Collector.Pipeline.Export;
using Collector.Pipeline.Telemetry;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Exporters;

/// <summary>The exporter helper's retry and timeout senders on their own, over the real otlphttp sender and backend.</summary>
public sealed class ExporterSenderTests : ExporterTestBase
{
    private readonly List<IDisposable> _senders = [];

    [TearDown]
    public void DisposeSenders()
    {
        foreach (var sender in _senders)
        {
            sender.Dispose();
        }

        _senders.Clear();
    }

    [Test]
    public async Task Retry_sender_waits_the_Retry_After_the_backend_asks_for()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(429, RetryAfter: "1"));
        var retries = new Counter();
        var retry = Retry(backend, retries, config => config.RetryOnFailure.InitialInterval = TimeSpan.FromMilliseconds(10));

        var started = Stopwatch.GetTimestamp();
        var (outcome, _) = await retry.SendAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.Delivered));
        Assert.That(Stopwatch.GetElapsedTime(started), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950)), "Retry-After: 1 replaces the 10 ms backoff");
        Assert.That(backend.Calls, Has.Count.EqualTo(2));
        Assert.That(retries.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Retry_sender_starts_no_retry_that_would_end_after_max_elapsed_time()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503, RetryAfter: "30"));
        var retries = new Counter();
        var retry = Retry(backend, retries, config => config.RetryOnFailure.MaxElapsedTime = TimeSpan.FromSeconds(2));

        var started = Stopwatch.GetTimestamp();
        var (outcome, result) = await retry.SendAsync(ExporterTestKit.Spans(2), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.RetriesExhausted));
        Assert.That(result.Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(Stopwatch.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(2)), "gives up at once instead of waiting 30 s");
        Assert.That(backend.Calls, Has.Count.EqualTo(1));
        Assert.That(retries.Count, Is.Zero);
    }

    [TestCase(3, false, 3, Description = "an explicit max_attempts bounds attempts without a spool")]
    [TestCase(5, true, 5, Description = "and with one")]
    [TestCase(null, true, RetryOnFailureConfig.DefaultAttemptsBeforeSpool, Description = "unset with a spool behind: 3 attempts, then the spool keeps the batch")]
    public async Task Retry_sender_stops_after_the_attempt_limit(int? maxAttempts, bool spoolBehind, int expectedCalls)
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503), times: 10);
        var retries = new Counter();
        var retry = Retry(backend, retries, config => config.RetryOnFailure.MaxAttempts = maxAttempts, spoolBehind);

        var (outcome, _) = await retry.SendAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.RetriesExhausted));
        Assert.That(backend.Calls, Has.Count.EqualTo(expectedCalls));
        Assert.That(retries.Count, Is.EqualTo(expectedCalls - 1));
    }

    [Test]
    public async Task Retry_sender_without_a_spool_keeps_retrying_past_three_attempts_when_max_attempts_is_unset()
    {
        // A blip longer than three attempts: before, the default max_attempts 3 dropped the batch here.
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503), times: 6);
        var retries = new Counter();
        var retry = Retry(backend, retries, config => config.RetryOnFailure.MaxAttempts = null);

        var (outcome, _) = await retry.SendAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.Delivered));
        Assert.That(backend.Calls, Has.Count.EqualTo(7));
        Assert.That(retries.Count, Is.EqualTo(6));
    }

    [Test]
    public async Task Retry_sender_without_a_spool_and_max_attempts_unset_ends_at_max_elapsed_time()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503), times: 1000);
        var retry = Retry(backend, new Counter(), config =>
        {
            config.RetryOnFailure.MaxAttempts = null;
            config.RetryOnFailure.MaxElapsedTime = TimeSpan.FromMilliseconds(700);
        });

        var started = Stopwatch.GetTimestamp();
        var (outcome, _) = await retry.SendAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.RetriesExhausted));
        Assert.That(Stopwatch.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(backend.Calls, Has.Count.GreaterThan(3), "more than the old default of 3 attempts fit in 700 ms of 50-200 ms backoffs");
    }

    [Test]
    public async Task Retry_sender_stops_retrying_when_told_to()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(503), times: 10);
        var config = Config(backend);
        var retry = new RetrySender<ResourceSpans>(Sender(config), config.RetryOnFailure, new Counter(), stopRetrying: () => true);

        var (outcome, result) = await retry.SendAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(SendOutcome.Stopped), "shutdown with a spool parks the batch instead of retrying");
        Assert.That(result.Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(backend.Calls, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Timeout_sender_ends_a_slow_attempt_as_retryable()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(200, Delay: TimeSpan.FromSeconds(20)));
        var timeout = new TimeoutSender<ResourceSpans>(Sender(Config(backend)), TimeSpan.FromMilliseconds(200));

        var started = Stopwatch.GetTimestamp();
        var result = await timeout.SendAsync(ExporterTestKit.Spans(1), CancellationToken.None);

        Assert.That(result.Outcome, Is.EqualTo(ExportOutcome.Retryable));
        Assert.That(result.Error, Does.Contain("timed out after 200ms"));
        Assert.That(Stopwatch.GetElapsedTime(started), Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task Timeout_sender_lets_the_callers_cancellation_through()
    {
        var backend = await HttpBackendAsync();
        backend.Enqueue(new HttpFault(200, Delay: TimeSpan.FromSeconds(20)));
        var timeout = new TimeoutSender<ResourceSpans>(Sender(Config(backend)), TimeSpan.FromSeconds(30));
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Assert.That(
            async () => await timeout.SendAsync(ExporterTestKit.Spans(1), caller.Token),
            Throws.InstanceOf<OperationCanceledException>(),
            "a stopped caller is not a failed attempt");
    }

    private static OtlpHttpExporterConfig Config(HttpTestBackend backend)
    {
        var config = new OtlpHttpExporterConfig { Endpoint = backend.BaseUrl };
        ExporterTestKit.FastRetry(config);
        return config;
    }

    private OtlpHttpSender<ResourceSpans> Sender(OtlpHttpExporterConfig config)
    {
        var sender = new OtlpHttpSender<ResourceSpans>(config);
        _senders.Add(sender);
        return sender;
    }

    private RetrySender<ResourceSpans> Retry(HttpTestBackend backend, Counter retries, Action<OtlpHttpExporterConfig> configure, bool spoolBehind = false)
    {
        var config = Config(backend);
        configure(config);
        return new RetrySender<ResourceSpans>(
            new TimeoutSender<ResourceSpans>(Sender(config), config.Timeout),
            config.RetryOnFailure,
            retries,
            stopRetrying: () => false,
            spoolBehind);
    }
}
