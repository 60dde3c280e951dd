using System.Collections.Concurrent;
using System.Net;
using Collector.Tests.AiProcessing.LangtraceMerge;
using Collector.Tests.Durable;
using Collector.Tests.Exporters;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.EndToEnd;

/// <summary>
/// Durable ingress with langtrace_merge holding traces, in the real collector process: an LLM app
/// sends each call's span (OTLP/HTTP traces) and its prompt event (OTLP/HTTP logs, same trace and
/// span id), the merge joins them, and kill -9 comes while traces are held. After a restart on the
/// same directories, what was acknowledged must come out as a run without the crash delivers it.
/// </summary>
[NonParallelizable]
public sealed class MergeCrashTests : DurableTestBase
{
    private const string PromptEvent = "gen_ai.content.prompt";
    private const string PromptKey = "gen_ai.prompt";
    private const int CallsPerRequest = 5;

    /// <summary>Writes the config (the same file serves the restart) and returns its path and the health_check port.</summary>
    private (string Path, int HealthPort) WriteConfig(int receiverPort, int backendPort)
    {
        var healthPort = Ports.Free();
        var ingress = Path.Combine(Dir, "ingress");
        var path = Path.Combine(Dir, "collector.yaml");

        // wait: 3s, so a kill under a steady load always finds the last 3 s of calls held; max_traces
        // above what the load can hold in 3 s, so no trace is flushed early and every event finds its span.
        File.WriteAllText(path, $$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{receiverPort}}" } } } }
            processors:
              langtrace_merge: { wait: 3s, max_traces: 100000 }
            exporters:
              otlphttp:
                endpoint: "http://127.0.0.1:{{backendPort}}"
                compression: none
                # Far above a send on loopback: a timed-out attempt that had arrived would be retried and
                # delivered twice, which is the exporter's at-least-once, not what is checked here.
                timeout: 10s
                retry_on_failure: { initial_interval: 50ms, max_interval: 200ms, randomization_factor: 0 }
            extensions: { health_check: { endpoint: "127.0.0.1:{{healthPort}}" } }
            service:
              extensions: [health_check]
              shutdown_timeout: 10s
              telemetry: { metrics: { endpoint: "127.0.0.1:{{Ports.Free()}}" } }
              pipelines:
                traces: { receivers: [otlp], processors: [langtrace_merge], exporters: [otlphttp], durability: { directory: "{{ingress}}" } }
                logs: { receivers: [otlp], processors: [langtrace_merge], exporters: [otlphttp], durability: { directory: "{{ingress}}" } }
            """);
        return (path, healthPort);
    }

    [Test]
    public async Task Without_a_crash_every_span_is_delivered_once_carrying_its_prompt_event()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        var receiver = Ports.Free();
        var (config, health) = WriteConfig(receiver, new Uri(backend.BaseUrl).Port);
        using var client = new LlmCallClient(receiver);
        using var collector = CollectorProcess.Start("--config", config);
        await collector.WaitUntilHealthyAsync(health);

        await Task.WhenAll(Enumerable.Range(0, 3).Select(s => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.That(await client.SendCallsAsync(CallsPerRequest, eventsFirst: (s + i) % 2 == 0), Is.True, "both requests answered 200");
            }
        })));

        var delivered = new DeliveredCalls(backend);
        await Poll.UntilAsync(() => delivered.Accounts(client), Deadline, "every span and event delivered");
        collector.Signal("TERM");
        Assert.That(await collector.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, collector.Output);

        var shape = delivered.Check(client);
        TestContext.Out.WriteLine(shape);
        Assert.Multiple(() =>
        {
            Assert.That(shape.AckedSpans, Is.EqualTo(3 * 20 * CallsPerRequest));
            Assert.That(shape.DuplicateCopies, Is.Zero, "each span delivered once");
            Assert.That(shape.CopiesWithoutTheirEvent, Is.Zero, "each span carries its prompt event merged");
            Assert.That(shape.EventsAsLogRecords, Is.Zero, "every event merged, none went on as a log record");
            Assert.That(shape.Missing, Is.Empty);
        });
    }

    [Test]
    public async Task Kill_9_while_langtrace_merge_holds_traces_loses_no_acknowledged_span_or_event_after_the_restart()
    {
        await using var backend = await HttpTestBackend.StartAsync();
        var receiver = Ports.Free();
        var (config, health) = WriteConfig(receiver, new Uri(backend.BaseUrl).Port);
        using var client = new LlmCallClient(receiver);
        var delivered = new DeliveredCalls(backend);
        HashSet<string> deliveredBeforeKill;
        int heldAtKill;

        using (var collector = CollectorProcess.Start("--config", config))
        {
            await collector.WaitUntilHealthyAsync(health);
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 3).Select(s => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    await client.SendCallsAsync(CallsPerRequest, eventsFirst: (s + i) % 2 == 0);
                }
            })).ToArray();

            // Some traces have been flushed (their wait ran out), the last 3 s of calls are held. The load
            // then runs on for a second so that the kill falls between flushes, not at the first arrival
            // (whose entries could not be released yet).
            await Poll.UntilAsync(() => delivered.SpanCount >= 300 || collector.HasExited, Deadline, "the first held traces flushed under load");
            await Task.Delay(TimeSpan.FromSeconds(1));
            collector.Signal("KILL");
            var exit = await collector.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
            await Task.WhenAll(senders);
            Assert.That(exit, Is.EqualTo(137), "killed by SIGKILL, not exited by itself:\n" + collector.Output);
            deliveredBeforeKill = delivered.SpanIds();
            heldAtKill = client.AckedSpans.Keys.Count(id => !delivered.HasSpan(id));
        }

        Assert.That(heldAtKill, Is.GreaterThan(0), "acknowledged spans were held (not yet delivered) when the process died");

        using (var restarted = CollectorProcess.Start("--config", config))
        {
            await Poll.UntilAsync(() => delivered.Accounts(client) || restarted.HasExited, Deadline, "every acknowledged span and event after the restart");
            restarted.Signal("TERM");
            Assert.That(await restarted.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, restarted.Output);
        }

        var shape = delivered.Check(client);
        var duplicated = delivered.DeliveredMoreThanOnce();
        TestContext.Out.WriteLine($"delivered before the kill: {deliveredBeforeKill.Count} spans, held at the kill: {heldAtKill}; after the restart: {shape}");
        Assert.Multiple(() =>
        {
            Assert.That(shape.Missing, Is.Empty, "every acknowledged span delivered");
            Assert.That(shape.SpansWithoutTheirEvent, Is.Empty, "each span whose event was acknowledged has a delivered copy carrying it merged");
            Assert.That(shape.LostEvents, Is.Empty, "every acknowledged event delivered, merged into its span or as a log record");
            Assert.That(duplicated.Except(deliveredBeforeKill), Is.Empty, "duplicates are only of spans sent before the kill whose entry was not yet released (README)");
        });
    }

    /// <summary>The spans and log records the backend received, parsed once per call.</summary>
    private sealed class DeliveredCalls(HttpTestBackend backend)
    {
        /// <summary>Per span id: the prompt each delivered copy carried (null: none).</summary>
        private readonly Dictionary<string, List<string?>> _spans = [];

        /// <summary>Span ids of the AI events that went on as log records (not merged).</summary>
        private readonly HashSet<string> _eventLogs = [];

        private int _parsedCalls;

        public int SpanCount
        {
            get
            {
                Refresh();
                return _spans.Count;
            }
        }

        public HashSet<string> SpanIds()
        {
            Refresh();
            return [.. _spans.Keys];
        }

        public List<string> DeliveredMoreThanOnce()
        {
            Refresh();
            return _spans.Where(s => s.Value.Count > 1).Select(s => s.Key).ToList();
        }

        public bool HasSpan(string id)
        {
            Refresh();
            return _spans.ContainsKey(id);
        }

        /// <summary>Every acknowledged span delivered and every acknowledged event found (merged, or as a log record).</summary>
        public bool Accounts(LlmCallClient client)
        {
            Refresh();
            foreach (var id in client.AckedSpans.Keys)
            {
                if (!_spans.ContainsKey(id))
                {
                    return false;
                }
            }

            foreach (var (id, prompt) in client.AckedEvents)
            {
                if (!_eventLogs.Contains(id) && !(_spans.TryGetValue(id, out var copies) && copies.Contains(prompt)))
                {
                    return false;
                }
            }

            return true;
        }

        public DeliveryShape Check(LlmCallClient client)
        {
            Refresh();
            var missing = client.AckedSpans.Keys.Where(id => !_spans.ContainsKey(id)).ToList();
            var withoutEvent = client.AckedEvents.Where(e => _spans.TryGetValue(e.Key, out var copies) && !copies.Contains(e.Value)).Select(e => e.Key).ToList();
            var lost = client.AckedEvents.Where(e => !_eventLogs.Contains(e.Key) && !(_spans.TryGetValue(e.Key, out var copies) && copies.Contains(e.Value))).Select(e => e.Key).ToList();
            var copiesWithoutEvent = client.AckedEvents.Sum(e => _spans.TryGetValue(e.Key, out var copies) ? copies.Count(p => p != e.Value) : 0);
            return new DeliveryShape(
                client.AckedSpans.Count, client.AckedEvents.Count, _spans.Values.Sum(c => c.Count - 1), copiesWithoutEvent, _eventLogs.Count, missing, withoutEvent, lost);
        }

        private void Refresh()
        {
            var index = 0;
            foreach (var call in backend.Calls)
            {
                if (index++ < _parsedCalls)
                {
                    continue;
                }

                if (call.Path.EndsWith("/v1/logs", StringComparison.Ordinal))
                {
                    foreach (var record in ExportLogsServiceRequest.Parser.ParseFrom(call.Body).ResourceLogs.SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords))
                    {
                        _eventLogs.Add(Convert.ToHexStringLower(record.SpanId.Span));
                    }
                }
                else
                {
                    foreach (var span in ExportTraceServiceRequest.Parser.ParseFrom(call.Body).ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
                    {
                        var id = Convert.ToHexStringLower(span.SpanId.Span);
                        if (!_spans.TryGetValue(id, out var copies))
                        {
                            _spans[id] = copies = [];
                        }

                        copies.Add(Llm.Str(span, PromptKey));
                    }
                }

                _parsedCalls++;
            }
        }
    }

    /// <summary>What came out, against what was acknowledged.</summary>
    private sealed record DeliveryShape(
        int AckedSpans,
        int AckedEvents,
        int DuplicateCopies,
        int CopiesWithoutTheirEvent,
        int EventsAsLogRecords,
        IReadOnlyList<string> Missing,
        IReadOnlyList<string> SpansWithoutTheirEvent,
        IReadOnlyList<string> LostEvents)
    {
        public override string ToString() =>
            $"acknowledged {AckedSpans} spans and {AckedEvents} events; {DuplicateCopies} duplicate span copies, {CopiesWithoutTheirEvent} copies without their acknowledged event, " +
            $"{EventsAsLogRecords} events delivered as log records; missing {Missing.Count} spans, {SpansWithoutTheirEvent.Count} spans with no copy carrying their event, {LostEvents.Count} events lost";
    }

    /// <summary>
    /// An LLM app's two OTLP/HTTP exporters: per call an OpenTelemetry GenAI chat span in a trace of its
    /// own, and its prompt event as a log record with that trace and span id. Records what got 200.
    /// </summary>
    private sealed class LlmCallClient(int port) : IDisposable
    {
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

        /// <summary>Span id (hex) to the prompt its event carries, for spans whose request got 200.</summary>
        public ConcurrentDictionary<string, string> AckedSpans { get; } = new();

        /// <summary>Span id (hex) to the prompt, for events whose request got 200.</summary>
        public ConcurrentDictionary<string, string> AckedEvents { get; } = new();

        /// <summary>Sends <paramref name="calls"/> calls as one traces and one logs request; true when both got 200.</summary>
        public async Task<bool> SendCallsAsync(int calls, bool eventsFirst)
        {
            var scopeSpans = new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai_v2" } };
            var scopeLogs = new ScopeLogs { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai_v2" } };
            var prompts = new List<(string SpanId, string Prompt)>(calls);
            for (var i = 0; i < calls; i++)
            {
                var span = Llm.OtelChat(Llm.NewTrace(), parent: null, input: 800 + i, output: 120);
                var id = Convert.ToHexStringLower(span.SpanId.Span);
                var prompt = $"[{{\"role\":\"user\",\"content\":\"question behind span {id}\"}}]";
                scopeSpans.Spans.Add(span);
                scopeLogs.LogRecords.Add(Llm.Event(span, PromptEvent, at: 10, attributes: Llm.Attr(PromptKey, prompt)));
                prompts.Add((id, prompt));
            }

            var traces = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { Resource = Service(), ScopeSpans = { scopeSpans } } } };
            var logs = new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { Resource = Service(), ScopeLogs = { scopeLogs } } } };
            bool spansAcked, eventsAcked;
            if (eventsFirst)
            {
                eventsAcked = await PostAsync("/v1/logs", logs);
                spansAcked = await PostAsync("/v1/traces", traces);
            }
            else
            {
                spansAcked = await PostAsync("/v1/traces", traces);
                eventsAcked = await PostAsync("/v1/logs", logs);
            }

            foreach (var (id, prompt) in prompts)
            {
                if (spansAcked)
                {
                    AckedSpans[id] = prompt;
                }

                if (eventsAcked)
                {
                    AckedEvents[id] = prompt;
                }
            }

            return spansAcked && eventsAcked;
        }

        public void Dispose() => _http.Dispose();

        private static Resource Service() => new() { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "llm-chat-app" } } } };

        private async Task<bool> PostAsync(string path, IMessage request)
        {
            using var content = new ByteArrayContent(request.ToByteArray());
            content.Headers.ContentType = new("application/x-protobuf");
            try
            {
                using var response = await _http.PostAsync(new Uri($"http://127.0.0.1:{port}{path}"), content);
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Refused connection or the process died mid-request: not acknowledged.
                return false;
            }
        }
    }
}
