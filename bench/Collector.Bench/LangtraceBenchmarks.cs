using System.Buffers;
using System.Net;
using BenchmarkDotNet.Attributes;
using Collector.Exporters.Langtrace;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Bench;

/// <summary>
/// The langtrace exporter's encoding: the cost of one span in Langtrace's request form (spans/s =
/// 1e9 / mean ns) over realistic LLM spans (GenAI attributes of every type, an indexed prompt to
/// rebuild, events), next to the generic OTLP/JSON codec on the same request.
/// </summary>
[MemoryDiagnoser]
public class LangtraceBenchmarks
{
    private ResourceSpans _resource = null!;
    private ArrayBufferWriter<byte> _body = null!;

    [GlobalSetup]
    public void Setup()
    {
        _resource = LangtraceWorkload.LlmResource(LangtraceWorkload.BatchSize);
        _body = new ArrayBufferWriter<byte>(256 * 1024);
    }

    /// <summary>
    /// Per span: the same request through the generic OTLP/JSON codec (what otlphttp's JSON encoding
    /// costs), so that the ratio stays meaningful on a loaded machine.
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = LangtraceWorkload.BatchSize)]
    public int OtlpJsonBaseline() => OtlpJson.FormatUtf8(SignalOps<ResourceSpans>.Instance.CreateRequest([_resource])).Length;

    /// <summary>Per span (OperationsPerInvoke = batch size): one request body of batch_size spans.</summary>
    [Benchmark(OperationsPerInvoke = LangtraceWorkload.BatchSize)]
    public int Encode()
    {
        _body.ResetWrittenCount();
        new LangtraceJsonEncoder(["service.name"]).Encode(_resource, _resource.ScopeSpans[0], _body);
        return _body.WrittenCount;
    }
}

/// <summary>
/// One request of batch_size spans through the whole langtrace exporter (batcher, queue,
/// 4 consumers, HTTP POST) to a loopback server answering 200: requests/s = 1e9 / mean ns.
/// </summary>
[MemoryDiagnoser]
public class LangtraceDeliveryBenchmarks
{
    private const int RequestsPerInvoke = 40;

    private ResourceSpans _resource = null!;
    private WebApplication _server = null!;
    private LangtraceExporter _exporter = null!;
    private long _requests;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _resource = LangtraceWorkload.LlmResource(LangtraceWorkload.BatchSize);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _server = builder.Build();
        _server.MapPost("/api/trace", async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            Interlocked.Increment(ref _requests);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"message":"Traces added successfully"}""");
        });
        await _server.StartAsync();
        var url = _server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var config = new LangtraceExporterConfig
        {
            Endpoint = url.TrimEnd('/') + "/api/trace",
            ApiKey = "bench-key",
            BatchSize = LangtraceWorkload.BatchSize,
            FlushInterval = TimeSpan.FromSeconds(10),
        };
        var context = new ComponentContext(new ComponentId("langtrace", "bench"), Serilog.Core.Logger.None, new SelfMetrics(), new SharedComponents());
        _exporter = new LangtraceExporter(context, config, new LangtraceSender(config));
        await _exporter.StartAsync(CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _exporter.ShutdownAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        await _server.StopAsync();
        await _server.DisposeAsync();
    }

    /// <summary>Per request: batches of batch_size spans handed to the exporter until the server has answered them all.</summary>
    [Benchmark(OperationsPerInvoke = RequestsPerInvoke)]
    public async Task Deliver()
    {
        var target = Interlocked.Read(ref _requests) + RequestsPerInvoke;
        for (var i = 0; i < RequestsPerInvoke; i++)
        {
            // A fresh list per batch: the batcher references spans, it does not copy them.
            await _exporter.ConsumeAsync(Batch<ResourceSpans>.Create([_resource]), CancellationToken.None);
        }

        while (Interlocked.Read(ref _requests) < target)
        {
            await Task.Yield();
        }
    }
}

/// <summary>The LLM spans both Langtrace benchmarks use.</summary>
internal static class LangtraceWorkload
{
    /// <summary>The exporter's default batch_size.</summary>
    public const int BatchSize = 50;

    /// <summary>One app's LLM spans: chat calls (OTel GenAI), an OpenLLMetry call with an indexed prompt, tool spans.</summary>
    public static ResourceSpans LlmResource(int count)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai", Version = "0.40.0" } };
        var traceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(b => (byte)b).ToArray());
        for (var i = 0; i < count; i++)
        {
            var span = new Span
            {
                TraceId = traceId,
                SpanId = ByteString.CopyFrom(BitConverter.GetBytes((long)i + 1)),
                ParentSpanId = ByteString.CopyFrom(BitConverter.GetBytes(1000L)),
                Name = (i % 5) switch { 0 => "execute_tool search", 1 => "openai.chat", _ => "chat gpt-4o" },
                Kind = Span.Types.SpanKind.Client,
                StartTimeUnixNano = 1_714_564_800_000_000_000UL + ((ulong)i * 1_000_000),
                EndTimeUnixNano = 1_714_564_800_900_000_000UL + ((ulong)i * 1_000_000),
                Status = new Status { Code = Status.Types.StatusCode.Ok },
            };
            var a = span.Attributes;
            if (i % 5 == 0)
            {
                Add(a, "gen_ai.operation.name", "execute_tool");
                Add(a, "gen_ai.tool.name", "search");
                Add(a, "gen_ai.tool.call.id", $"call_{i}");
            }
            else if (i % 5 == 1)
            {
                Add(a, "llm.request.type", "chat");
                Add(a, "gen_ai.system", "openai");
                Add(a, "gen_ai.request.model", "gpt-4o-mini");
                a.Add(new KeyValue { Key = "gen_ai.usage.prompt_tokens", Value = new AnyValue { IntValue = 310 } });
                a.Add(new KeyValue { Key = "gen_ai.usage.completion_tokens", Value = new AnyValue { IntValue = 42 } });
                Add(a, "gen_ai.prompt.0.role", "system");
                Add(a, "gen_ai.prompt.0.content", "You are a helpful assistant. Answer in one sentence.");
                Add(a, "gen_ai.prompt.1.role", "user");
                Add(a, "gen_ai.prompt.1.content", "What is the capital of France, and why is it famous?");
                Add(a, "gen_ai.completion.0.role", "assistant");
                Add(a, "gen_ai.completion.0.content", "Paris, famous for the Eiffel Tower, art and cuisine.");
            }
            else
            {
                Add(a, "gen_ai.operation.name", "chat");
                Add(a, "gen_ai.provider.name", "openai");
                Add(a, "gen_ai.request.model", "gpt-4o");
                Add(a, "gen_ai.response.model", "gpt-4o-2024-08-06");
                Add(a, "gen_ai.response.id", $"chatcmpl-{i:D8}");
                a.Add(new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = 1200 + i } });
                a.Add(new KeyValue { Key = "gen_ai.usage.output_tokens", Value = new AnyValue { IntValue = 180 } });
                a.Add(new KeyValue { Key = "gen_ai.request.temperature", Value = new AnyValue { DoubleValue = 0.7 } });
                a.Add(new KeyValue { Key = "gen_ai.request.top_p", Value = new AnyValue { DoubleValue = 0.95 } });
                a.Add(new KeyValue { Key = "gen_ai.request.stream", Value = new AnyValue { BoolValue = true } });
                var stops = new ArrayValue();
                stops.Values.Add(new AnyValue { StringValue = "\n\n" });
                stops.Values.Add(new AnyValue { StringValue = "END" });
                a.Add(new KeyValue { Key = "gen_ai.request.stop_sequences", Value = new AnyValue { ArrayValue = stops } });
                Add(a, "gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"Summarise the attached contract in three bullet points."}]}]""");
                Add(a, "gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"text","content":"1. Term: 24 months. 2. Fee: 2% monthly. 3. Exit: 90 days notice."}],"finish_reason":"stop"}]""");
                Add(a, "server.address", "api.openai.com");
                Add(a, "user_id", "u-1234");
                var chunk = new Span.Types.Event { Name = "first_token", TimeUnixNano = span.StartTimeUnixNano + 120_000_000 };
                span.Events.Add(chunk);
            }

            scope.Spans.Add(span);
        }

        var resource = new ResourceSpans { Resource = new Resource() };
        Add(resource.Resource.Attributes, "service.name", "chat-app");
        Add(resource.Resource.Attributes, "deployment.environment.name", "production");
        resource.ScopeSpans.Add(scope);
        return resource;
    }

    private static void Add(RepeatedField<KeyValue> attributes, string key, string value) =>
        attributes.Add(new KeyValue { Key = key, Value = new AnyValue { StringValue = value } });
}
