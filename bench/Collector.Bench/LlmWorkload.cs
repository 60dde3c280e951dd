using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Bench;

/// <summary>
/// Realistic GenAI chat spans: about 25 attributes each, a JSON transcript of ~1.2 KB in
/// gen_ai.input.messages, a JSON completion, a prompt event, HTTP and server attributes.
/// A chosen share of spans carries secrets (e-mail, card number, phone, API key in the prompt,
/// a bearer token in an authorization header).
/// </summary>
internal sealed class LlmWorkload
{
    private static readonly string[] Questions =
    [
        "Summarise the attached quarterly report in five bullet points and flag any risks the board should discuss.",
        "Write a SQL query that returns the ten customers with the highest order volume in 2024, grouped by region.",
        "Explain the difference between optimistic and pessimistic locking, with an example for an inventory service.",
        "Draft a polite reply declining the meeting on Thursday and propose two alternative slots next week.",
        "Review this Python function for bugs: it should deduplicate events by id and keep the latest timestamp.",
    ];

    private readonly List<(AnyValue Value, string Original)> _strings = [];
    private readonly List<(AnyValue Value, ArrayValue Original)> _arrays = [];

    public LlmWorkload(int spanCount, int secretEvery)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "opentelemetry.instrumentation.openai", Version = "0.48.0" } };
        for (var i = 0; i < spanCount; i++)
        {
            var dirty = secretEvery > 0 && i % secretEvery == 0;
            var span = ChatSpan(i, dirty);
            scope.Spans.Add(span);
            if (dirty)
            {
                Remember(span.Attributes);
                Remember(span.Events[0].Attributes);
            }
        }

        Resources = [new ResourceSpans { Resource = Resource(), ScopeSpans = { scope } }];
    }

    public RepeatedField<ResourceSpans> Resources { get; }

    /// <summary>Puts back every value redaction changed, so each benchmark invocation sees the same secrets (no allocation).</summary>
    public void Restore()
    {
        foreach (var (value, original) in _strings)
        {
            value.StringValue = original;
        }

        foreach (var (value, original) in _arrays)
        {
            value.ArrayValue = original;
        }
    }

    private void Remember(RepeatedField<KeyValue> attributes)
    {
        foreach (var attribute in attributes)
        {
            switch (attribute.Value.ValueCase)
            {
                case AnyValue.ValueOneofCase.StringValue:
                    _strings.Add((attribute.Value, attribute.Value.StringValue));
                    break;
                case AnyValue.ValueOneofCase.ArrayValue:
                    _arrays.Add((attribute.Value, attribute.Value.ArrayValue));
                    break;
            }
        }
    }

    private static Resource Resource() => new()
    {
        Attributes =
        {
            Attr("service.name", "support-bot"),
            Attr("service.version", "2.14.1"),
            Attr("deployment.environment.name", "production"),
            Attr("host.name", "ip-10-0-3-17.ec2.internal"),
            Attr("telemetry.sdk.language", "python"),
            Attr("telemetry.sdk.version", "1.27.0"),
        },
    };

    private static Span ChatSpan(int i, bool dirty)
    {
        var question = Questions[i % Questions.Length];
        var prompt = dirty
            ? $"I'm jane.doe{i}@example.com, call me on +1 415 555 {1000 + (i % 9000)}. My card 4111 1111 1111 1111 was charged twice; key sk-proj-{i:D8}AbCdEfGhIjKlMnOpQrStUv. {question}"
            : $"{question} Context: ticket {100000 + i}, release v2.{i % 10}.3, see docs page 4.2.1.";
        var input = "[{\"role\":\"system\",\"content\":\"You are a support assistant for Acme Cloud. Answer concisely, cite the knowledge base article ids, never invent prices, and escalate billing disputes to a human agent.\"},"
            + "{\"role\":\"user\",\"content\":\"Earlier today I asked about upgrading my plan from Team to Business and you said the migration keeps all projects. Is that still true for archived projects?\"},"
            + "{\"role\":\"assistant\",\"content\":\"Yes. Archived projects are migrated with their history; only expired trial workspaces are excluded (KB-1182).\"},"
            + "{\"role\":\"user\",\"content\":\"" + prompt + "\"}]";
        var output = "[{\"role\":\"assistant\",\"content\":\"Thanks for the details. Here is a summary of the steps: 1) open Billing, 2) pick the plan, 3) confirm. Article KB-2045 covers refunds for double charges within 30 days.\",\"finish_reason\":\"stop\"}]";
        var traceId = new byte[16];
        var spanId = new byte[8];
        BitConverter.TryWriteBytes(traceId, (long)i + 1);
        BitConverter.TryWriteBytes(spanId, (long)i + 1);
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId),
            Name = "chat gpt-4o",
            Kind = Span.Types.SpanKind.Client,
            StartTimeUnixNano = 1_700_000_000_000_000_000 + ((ulong)i * 1_000_000),
            EndTimeUnixNano = 1_700_000_000_900_000_000 + ((ulong)i * 1_000_000),
            Attributes =
            {
                Attr("gen_ai.operation.name", "chat"),
                Attr("gen_ai.provider.name", "openai"),
                Attr("gen_ai.request.model", "gpt-4o"),
                Attr("gen_ai.response.model", "gpt-4o-2024-08-06"),
                Attr("gen_ai.response.id", "chatcmpl-" + i.ToString("D10", CultureInfo.InvariantCulture)),
                Attr("gen_ai.request.temperature", 0.2),
                Attr("gen_ai.request.max_tokens", 1024),
                Attr("gen_ai.usage.input_tokens", 412 + (i % 50)),
                Attr("gen_ai.usage.output_tokens", 96 + (i % 20)),
                Attr("gen_ai.response.finish_reasons", "stop"),
                Attr("gen_ai.input.messages", input),
                Attr("gen_ai.output.messages", output),
                Attr("server.address", "api.openai.com"),
                Attr("server.port", 443),
                Attr("http.request.method", "POST"),
                Attr("url.full", "https://api.openai.com/v1/chat/completions"),
                Attr("http.response.status_code", 200),
                Attr("user_agent.original", "OpenAI/Python 1.51.0"),
                Attr("session.id", "sess-" + (i / 10).ToString("D6", CultureInfo.InvariantCulture)),
                Attr("app.feature", "billing-assistant"),
                Attr("app.prompt.version", "v17"),
            },
            Events =
            {
                new Span.Types.Event { Name = "gen_ai.content.prompt", TimeUnixNano = 1_700_000_000_000_000_000, Attributes = { Attr("gen_ai.prompt", prompt) } },
            },
            Status = new Status { Code = Status.Types.StatusCode.Ok },
        };
        if (dirty)
        {
            var header = new AnyValue { StringValue = "Bearer tok_" + i.ToString("D8", CultureInfo.InvariantCulture) + "ZyXwVuTsRq" };
            span.Attributes.Add(new KeyValue { Key = "http.request.header.authorization", Value = new AnyValue { ArrayValue = new ArrayValue { Values = { header } } } });
        }

        return span;
    }

    private static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    private static KeyValue Attr(string key, double value) => new() { Key = key, Value = new AnyValue { DoubleValue = value } };
}
