using System.Text.Json.Nodes;
using Collector.Pipeline;
using Collector.Tests.LangtraceInterop.StandIn;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>What the langtrace exporter sends, checked by what the Langtrace stand-in stores.</summary>
public sealed class LangtraceRequestFormTests : LangtraceTestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Every_attribute_type_survives_and_the_request_has_the_form_Langtrace_reads()
    {
        var kvlist = new KeyValueList();
        kvlist.Values.Add(Attr("region", Str("eu")));
        kvlist.Values.Add(Attr("retries", Int(2)));
        var span = NewSpan(
            "tool.lookup",
            null,
            Attr("s", Str("text with \"quotes\" and ünïcode")),
            Attr("i", Int(-9_007_199_254_740_993)),
            Attr("b", Bool(true)),
            Attr("d", Dbl(0.25)),
            Attr("d.integral", Dbl(3)),
            Attr("d.nan", Dbl(double.NaN)),
            Attr("a.strings", Arr(Str("a"), Str("b"))),
            Attr("a.mixed", Arr(Int(1), Dbl(1.5), Bool(false), Str("x"))),
            Attr("kv", new AnyValue { KvlistValue = kvlist }),
            Attr("bytes", new AnyValue { BytesValue = ByteString.CopyFrom(1, 2, 255) }));
        span.ParentSpanId = ByteString.CopyFrom(TestData.NewSpanId());
        span.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "tool failed" };
        // An event without attributes: Langtrace's server fails the whole request unless the array is there.
        span.Events.Add(new Span.Types.Event { Name = "retry", TimeUnixNano = span.StartTimeUnixNano + 1_000_000 });
        var withAttributes = new Span.Types.Event { Name = "note", TimeUnixNano = span.StartTimeUnixNano + 2_000_000 };
        withAttributes.Attributes.Add(Attr("ok", Bool(false)));
        span.Events.Add(withAttributes);
        var sent = span.Clone();

        var exporter = await StartExporterAsync(Config());
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "tools", span)), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 1, Wait, "the span to be stored");

        var request = StandIn.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(request.Status, Is.EqualTo(200));
            Assert.That(request.ContentType, Is.EqualTo("application/json"), "exactly, no charset");
            Assert.That(request.ContentEncoding, Is.Null, "no compression");
            Assert.That(request.UserAgent, Does.Contain("OTel-OTLP-Exporter"));
            Assert.That(request.ApiKey, Is.EqualTo(ApiKey));
        });

        var body = JsonNode.Parse(request.Body)!;
        Assert.That(body["resourceSpans"]!.AsArray(), Has.Count.EqualTo(1));
        Assert.That(body["resourceSpans"]![0]!["scopeSpans"]!.AsArray(), Has.Count.EqualTo(1));
        foreach (var e in body["resourceSpans"]![0]!["scopeSpans"]![0]!["spans"]![0]!["events"]!.AsArray())
        {
            Assert.That(e!["attributes"], Is.InstanceOf<JsonArray>(), "every event carries attributes");
            Assert.That(e["timeUnixNano"]?.ToString(), Is.Not.Empty, "every event carries its time");
        }

        var stored = StandIn.Stored.Single();
        Assert.Multiple(() =>
        {
            Assert.That(stored.Project, Is.EqualTo(Project));
            Assert.That(stored.Name, Is.EqualTo("tool.lookup"));
            Assert.That(stored.TraceId, Is.EqualTo(Hex(sent.TraceId)));
            Assert.That(stored.SpanId, Is.EqualTo(Hex(sent.SpanId)));
            Assert.That(stored.ParentId, Is.EqualTo(Hex(sent.ParentSpanId)));
            Assert.That(stored.Kind, Is.EqualTo((int)Span.Types.SpanKind.Client));
            Assert.That(stored.StatusCode, Is.EqualTo("ERROR"));
            Assert.That(stored.StartTime, Is.EqualTo("2023-11-14T22:13:20.000Z"));
            foreach (var kv in sent.Attributes)
            {
                Assert.That(StoredValues.Mismatch(kv.Value, stored.Attributes.GetValueOrDefault(kv.Key)), Is.Null, kv.Key);
            }

            Assert.That(stored.Text("service.name"), Is.EqualTo("chat-app"), "copied from the resource, which Langtrace does not store");
            Assert.That(stored.Events.Select(e => e.Name), Is.EqualTo(new[] { "retry", "note" }));
            Assert.That(StoredValues.Mismatch(Bool(false), stored.Events[1].Attributes.GetValueOrDefault("ok")), Is.Null);
            Assert.That(stored.Attributes.ContainsKey("langtrace.service.type"), Is.False, "not a GenAI span: nothing is added");
        });
    }

    [Test]
    public async Task A_batch_with_several_resources_and_scopes_becomes_one_request_per_pair_of_at_most_batch_size_spans()
    {
        var resources = new List<ResourceSpans>();
        var names = new List<string>();
        foreach (var service in new[] { "svc-a", "svc-b" })
        {
            foreach (var scope in new[] { "openai", "langchain" })
            {
                var spans = Enumerable.Range(0, 60).Select(i => NewSpan($"{service}/{scope}/{i}")).ToArray();
                names.AddRange(spans.Select(s => s.Name));
                resources.Add(Resource(service, scope, spans));
            }
        }

        var exporter = await StartExporterAsync(Config(batchSize: 50));
        await exporter.ConsumeAsync(BatchOf([.. resources]), CancellationToken.None);
        // The exporter counts a send when the answer reaches it, a moment after the stand-in stored it.
        await Poll.UntilAsync(() => StandIn.Stored.Count == names.Count && Kit.Sent() == names.Count, Wait, $"{names.Count} spans stored and counted");

        // 4 (resource, scope) pairs x (50 + 10).
        var requests = StandIn.Requests.ToList();
        Assert.That(requests, Has.Count.EqualTo(8));
        var pairs = new HashSet<string>();
        foreach (var request in requests)
        {
            var resourceSpans = JsonNode.Parse(request.Body)!["resourceSpans"]!.AsArray();
            Assert.That(resourceSpans, Has.Count.EqualTo(1));
            var scopeSpans = resourceSpans[0]!["scopeSpans"]!.AsArray();
            Assert.That(scopeSpans, Has.Count.EqualTo(1));
            Assert.That(scopeSpans[0]!["spans"]!.AsArray(), Has.Count.LessThanOrEqualTo(50));
            pairs.Add($"{resourceSpans[0]!["resource"]!["attributes"]![0]!["value"]!["stringValue"]}/{scopeSpans[0]!["scope"]!["name"]}");
        }

        Assert.That(pairs, Is.EquivalentTo(new[] { "svc-a/openai", "svc-a/langchain", "svc-b/openai", "svc-b/langchain" }));
        Assert.That(StandIn.Stored.Select(s => s.Name), Is.EquivalentTo(names), "every span stored once");
        Assert.That(Kit.Sent(), Is.EqualTo(names.Count));
    }

    [Test]
    public async Task Small_batches_of_one_resource_fill_one_request()
    {
        var config = Config(batchSize: 50);
        config.FlushInterval = TimeSpan.FromMinutes(1);
        var exporter = await StartExporterAsync(config);
        for (var b = 0; b < 5; b++)
        {
            var spans = Enumerable.Range(0, 10).Select(i => NewSpan($"b{b}-{i}")).ToArray();
            await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "openai", spans)), CancellationToken.None);
        }

        await Poll.UntilAsync(() => StandIn.Stored.Count == 50, Wait, "50 spans stored");
        Assert.That(StandIn.Requests, Has.Count.EqualTo(1), "equal resources from different batches share a request");
    }

    [Test]
    public async Task A_partial_group_leaves_after_flush_interval_and_the_rest_at_shutdown()
    {
        var config = Config();
        config.FlushInterval = TimeSpan.FromMilliseconds(300);
        var exporter = await StartExporterAsync(config);
        var started = DateTime.UtcNow;
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "openai", NewSpan("early"))), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 1, Wait, "the flush_interval send");
        Assert.That(DateTime.UtcNow - started, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250)), "not before flush_interval");

        config.FlushInterval = TimeSpan.FromMinutes(1);
        var patient = await StartExporterAsync(config);
        await patient.ConsumeAsync(BatchOf(Resource("chat-app", "openai", NewSpan("late"))), CancellationToken.None);
        await patient.ShutdownAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        Assert.That(StandIn.Stored.Select(s => s.Name), Is.EquivalentTo(new[] { "early", "late" }), "shutdown sends what waits");
    }

    [Test]
    public async Task Llm_spans_of_any_convention_carry_what_Langtrace_UI_and_cost_queries_read()
    {
        var traceId = TestData.NewTraceId();
        var otel = NewSpan(
            "chat gpt-4o",
            traceId,
            Attr("gen_ai.operation.name", Str("chat")),
            Attr("gen_ai.provider.name", Str("azure.ai.openai")),
            Attr("gen_ai.request.model", Str("gpt-4o")),
            Attr("gen_ai.usage.input_tokens", Int(120)),
            Attr("gen_ai.usage.output_tokens", Int(30)),
            Attr("gen_ai.input.messages", Str("""[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]""")),
            Attr("gen_ai.output.messages", Str("""[{"role":"assistant","parts":[{"type":"text","content":"Hello"}]}]""")));
        var openLlmetry = NewSpan(
            "openai.chat",
            traceId,
            Attr("llm.request.type", Str("chat")),
            Attr("gen_ai.system", Str("openai")),
            Attr("gen_ai.request.model", Str("gpt-4o-mini")),
            Attr("gen_ai.usage.prompt_tokens", Int(40)),
            Attr("gen_ai.usage.completion_tokens", Int(8)),
            Attr("gen_ai.prompt.0.role", Str("system")),
            Attr("gen_ai.prompt.0.content", Str("Be brief")),
            Attr("gen_ai.prompt.1.role", Str("user")),
            Attr("gen_ai.prompt.1.content", Str("Weather?")),
            Attr("gen_ai.completion.0.role", Str("assistant")),
            Attr("gen_ai.completion.0.content", Str("Sunny")));
        var openInference = NewSpan(
            "ChatAnthropic",
            traceId,
            Attr("openinference.span.kind", Str("LLM")),
            Attr("llm.provider", Str("anthropic")),
            Attr("llm.model_name", Str("claude-3-5-sonnet")),
            Attr("llm.token_count.prompt", Int(15)),
            Attr("llm.token_count.completion", Int(5)),
            Attr("llm.token_count.total", Int(20)),
            Attr("llm.input_messages.0.message.role", Str("user")),
            Attr("llm.input_messages.0.message.content", Str("2+2?")),
            Attr("llm.output_messages.0.message.role", Str("assistant")),
            Attr("llm.output_messages.0.message.content", Str("4")));
        var retrieval = NewSpan("retrieve", traceId, Attr("openinference.span.kind", Str("RETRIEVER")));
        var plain = NewSpan("GET /", traceId, Attr("http.request.method", Str("GET")));
        var batch = BatchOf(Resource("rag-app", "mixed", otel, openLlmetry, openInference, retrieval, plain));
        var before = batch.Resources.Clone();

        var exporter = await StartExporterAsync(Config());
        await exporter.ConsumeAsync(batch, CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 5, Wait, "5 spans stored");
        Assert.That(batch.Resources, Is.EqualTo(before), "the shared batch is not changed");

        var stored = StandIn.Stored.ToDictionary(s => s.Name!);
        Assert.Multiple(() =>
        {
            foreach (var name in new[] { "chat gpt-4o", "openai.chat", "ChatAnthropic" })
            {
                var s = stored[name];
                Assert.That(s.Text("langtrace.service.type"), Is.EqualTo("llm"), name);
                foreach (var key in new[] { "langtrace.service.name", "gen_ai.system", "gen_ai.request.model", "llm.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.total_tokens" })
                {
                    Assert.That(s.Text(key), Is.Not.Null.And.Not.Empty, $"{name}: {key}");
                }
            }

            var o = stored["chat gpt-4o"];
            Assert.That((o.Text("langtrace.service.name"), o.Text("gen_ai.system"), o.Text("llm.model")), Is.EqualTo(("azure", "azure", "gpt-4o")));
            Assert.That(o.Text("gen_ai.usage.total_tokens"), Is.EqualTo("150"));
            Assert.That(Event(o, "gen_ai.content.prompt", "gen_ai.prompt"), Is.EqualTo("""[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]"""));
            Assert.That(Event(o, "gen_ai.content.completion", "gen_ai.completion"), Does.Contain("Hello"));

            var l = stored["openai.chat"];
            Assert.That((l.Text("gen_ai.usage.input_tokens"), l.Text("gen_ai.usage.output_tokens"), l.Text("gen_ai.usage.total_tokens")), Is.EqualTo(("40", "8", "48")));
            Assert.That(l.Attributes.ContainsKey("gen_ai.usage.prompt_tokens"), Is.False, "travels as input_tokens: Langtrace's cost query adds both keys");
            Assert.That(Event(l, "gen_ai.content.prompt", "gen_ai.prompt"), Is.EqualTo("""[{"role":"system","content":"Be brief"},{"role":"user","content":"Weather?"}]"""));
            Assert.That(Event(l, "gen_ai.content.completion", "gen_ai.completion"), Is.EqualTo("""[{"role":"assistant","content":"Sunny"}]"""));

            var i = stored["ChatAnthropic"];
            Assert.That((i.Text("langtrace.service.name"), i.Text("llm.model"), i.Text("gen_ai.usage.total_tokens")), Is.EqualTo(("anthropic", "claude-3-5-sonnet", "20")));
            Assert.That(Event(i, "gen_ai.content.prompt", "gen_ai.prompt"), Is.EqualTo("""[{"role":"user","content":"2+2?"}]"""));

            Assert.That(stored["retrieve"].Text("langtrace.service.type"), Is.EqualTo("vectordb"));
            Assert.That(stored["retrieve"].Attributes.ContainsKey("gen_ai.usage.total_tokens"), Is.False);
            Assert.That(stored["GET /"].Attributes.Keys, Is.EquivalentTo(new[] { "http.request.method", "service.name" }));
        });
    }

    [Test]
    public async Task Prompt_events_already_on_the_span_are_not_duplicated()
    {
        var span = NewSpan(
            "openai.chat.completions.create",
            null,
            Attr("langtrace.service.type", Str("llm")),
            Attr("langtrace.service.name", Str("OpenAI")),
            Attr("gen_ai.system", Str("openai")),
            Attr("gen_ai.request.model", Str("gpt-4o")),
            Attr("gen_ai.usage.input_tokens", Int(3)),
            Attr("gen_ai.usage.output_tokens", Int(4)),
            Attr("gen_ai.input.messages", Str("[]")));
        var prompt = new Span.Types.Event { Name = "gen_ai.content.prompt", TimeUnixNano = span.StartTimeUnixNano };
        prompt.Attributes.Add(Attr("gen_ai.prompt", Str("""[{"role":"user","content":"x"}]""")));
        span.Events.Add(prompt);

        var exporter = await StartExporterAsync(Config());
        await exporter.ConsumeAsync(BatchOf(Resource("chat-app", "langtrace", span)), CancellationToken.None);
        await Poll.UntilAsync(() => StandIn.Stored.Count == 1, Wait, "the span stored");

        var stored = StandIn.Stored.Single();
        Assert.That(stored.Events.Count(e => e.Name == "gen_ai.content.prompt"), Is.EqualTo(1));
        Assert.That(stored.Text("langtrace.service.name"), Is.EqualTo("OpenAI"), "what the span says is kept");
        Assert.That(stored.Text("gen_ai.usage.total_tokens"), Is.EqualTo("7"));
    }

    private static string? Event(StoredSpan span, string name, string key) =>
        span.Events.FirstOrDefault(e => e.Name == name)?.Attributes.GetValueOrDefault(key)?.ToString();
}
