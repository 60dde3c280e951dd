using System.Globalization;
using System.Text;
using Collector.GenAi;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Collector.Processors.ConflictResolution;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.AiProcessing.GenAi;

/// <summary>
/// Property: indexed messages (OpenLLMetry, OpenInference) -> target form (OTel GenAI JSON or
/// Langtrace JSON, as conflict_resolution writes it) -> indexed again gives back exactly the same
/// attributes, for generated messages with tool calls, sparse indices, unknown sub-keys and
/// wrongly typed values.
/// </summary>
public sealed class MessageRoundTripTests
{
    private const int Iterations = 600;

    private static readonly IndexedMessageForm[] Forms =
    [
        IndexedMessageForm.OpenLlmetryPrompt, IndexedMessageForm.OpenLlmetryCompletion,
        IndexedMessageForm.OpenInferenceInput, IndexedMessageForm.OpenInferenceOutput,
    ];

    [TestCase(true)]
    [TestCase(false)]
    public void Indexed_messages_survive_both_json_shapes_unchanged(bool otelShape)
    {
        var shape = otelShape ? MessageJsonShape.OtelGenAi : MessageJsonShape.Langtrace;
        for (var seed = 0; seed < Iterations; seed++)
        {
            var random = new Random(seed);
            var form = Forms[random.Next(Forms.Length)];
            var original = Generate(random, form);

            var messages = form.Read(original)!;
            var json = MessageJson.Write(messages, shape);
            var parsed = MessageJson.TryParse(json);
            Assert.That(parsed, Is.Not.Null, $"seed {seed}: {json}");
            var back = new RepeatedField<KeyValue>();
            form.Write(parsed!, back);

            AssertSameAttributes(original, back, $"seed {seed}, {form.Prefix}, {shape}: {json}");
        }
    }

    [Test]
    public void Indexed_messages_survive_the_conflict_resolution_processor([Values] ConflictTarget target)
    {
        var normalizer = new SpanNormalizer(new ConflictResolutionConfig { Target = target }, new SelfMetrics(), "conflict_resolution");
        for (var seed = 0; seed < Iterations; seed++)
        {
            var random = new Random(seed);
            var form = Forms[random.Next(Forms.Length)];
            var original = Generate(random, form);
            var span = TestSupport.TestData.Span("llm");
            span.Attributes.Add(original.Clone());

            normalizer.Normalize(span);

            Assert.That(form.IsPresent(span.Attributes), Is.False, "the indexed source keys were replaced");
            var isPrompt = form == IndexedMessageForm.OpenLlmetryPrompt || form == IndexedMessageForm.OpenInferenceInput;
            var json = TargetJson(span, target, isPrompt);
            var back = new RepeatedField<KeyValue>();
            form.Write(MessageJson.TryParse(json)!, back);

            AssertSameAttributes(original, back, $"seed {seed}, {form.Prefix}, {target}: {json}");
        }
    }

    [Test]
    public void The_generator_covers_the_interesting_cases()
    {
        var seen = new HashSet<string>();
        for (var seed = 0; seed < Iterations; seed++)
        {
            var random = new Random(seed);
            var form = Forms[random.Next(Forms.Length)];
            foreach (var attribute in Generate(random, form))
            {
                form.TryParseKey(attribute.Key, out _, out var start);
                var subKey = attribute.Key[start..];
                seen.Add(subKey.Contains("tool_calls.", StringComparison.Ordinal) ? "tool call" : subKey);
                seen.Add(attribute.Value.ValueCase.ToString());
            }
        }

        Assert.That(seen, Is.SupersetOf(new[]
        {
            "role", "content", "name", "finish_reason", "tool_call_id", "tool call", "content_type",
            "StringValue", "IntValue", "DoubleValue", "BoolValue", "ArrayValue", "KvlistValue",
        }));
    }

    private static string TargetJson(Span span, ConflictTarget target, bool isPrompt)
    {
        if (target == ConflictTarget.OtelGenAi)
        {
            return OtlpAttributes.FindString(span.Attributes, isPrompt ? "gen_ai.input.messages" : "gen_ai.output.messages")!;
        }

        var spanEvent = span.Events.Single(e => e.Name == (isPrompt ? "gen_ai.content.prompt" : "gen_ai.content.completion"));
        return OtlpAttributes.FindString(spanEvent.Attributes, isPrompt ? "gen_ai.prompt" : "gen_ai.completion")!;
    }

    private static void AssertSameAttributes(RepeatedField<KeyValue> expected, RepeatedField<KeyValue> actual, string context)
    {
        static List<string> Canonical(RepeatedField<KeyValue> attributes)
        {
            var list = new List<string>();
            foreach (var a in attributes)
            {
                list.Add(a.ToString());
            }

            list.Sort(StringComparer.Ordinal);
            return list;
        }

        Assert.That(Canonical(actual), Is.EqualTo(Canonical(expected)), context);
    }

    // ---- generator ------------------------------------------------------------------------------

    private static RepeatedField<KeyValue> Generate(Random random, IndexedMessageForm form)
    {
        var openInference = form.Infix != ".";
        var attributes = new RepeatedField<KeyValue>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var messageCount = random.Next(1, 6);
        var index = 0;
        for (var m = 0; m < messageCount; m++)
        {
            index += random.Next(8) == 0 ? random.Next(2, 5) : 1;
            var prefix = form.Prefix + (index - 1).ToString(CultureInfo.InvariantCulture) + form.Infix;
            void Add(string subKey, AnyValue value)
            {
                if (keys.Add(prefix + subKey))
                {
                    attributes.Add(new KeyValue { Key = prefix + subKey, Value = value });
                }
            }

            if (random.Next(10) > 0)
            {
                Add("role", Known(random, () => Pick(random, "system", "user", "assistant", "tool", "developer")));
            }

            if (random.Next(5) > 0)
            {
                Add("content", Known(random, () => Text(random)));
            }

            if (random.Next(4) == 0)
            {
                Add("name", Known(random, () => "agent_" + random.Next(100)));
            }

            if (random.Next(4) == 0)
            {
                Add("finish_reason", Known(random, () => Pick(random, "stop", "length", "tool_calls")));
            }

            if (random.Next(5) == 0)
            {
                Add("tool_call_id", Known(random, () => "call_" + random.Next(1000)));
            }

            var calls = random.Next(4) == 0 ? random.Next(1, 4) : 0;
            var call = 0;
            for (var c = 0; c < calls; c++)
            {
                call += random.Next(6) == 0 ? 2 : 1;
                var callPrefix = "tool_calls." + (call - 1).ToString(CultureInfo.InvariantCulture) + ".";
                var (id, name, arguments) = openInference
                    ? ("tool_call.id", "tool_call.function.name", "tool_call.function.arguments")
                    : ("id", "name", "arguments");
                if (random.Next(4) > 0)
                {
                    Add(callPrefix + id, Known(random, () => "call_" + random.Next(1000)));
                }

                if (random.Next(5) > 0)
                {
                    Add(callPrefix + name, Known(random, () => Pick(random, "get_weather", "search", "lookup_order")));
                }

                if (random.Next(3) > 0)
                {
                    Add(callPrefix + arguments, Known(random, () => "{\"q\":\"" + random.Next(100) + "\",\"n\":" + random.Next(9) + "}"));
                }

                if (random.Next(3) == 0)
                {
                    // Sub-keys no message schema knows, e.g. OpenLLMetry's function.name under a tool call.
                    Add(callPrefix + Pick(random, "type", "function.name", "tool_call.type", "index_hint"), AnyOf(random));
                }
            }

            var extras = random.Next(3) == 0 ? random.Next(1, 4) : 0;
            for (var e = 0; e < extras; e++)
            {
                Add(Pick(random, "content_type", "contents.0.message_content.type", "contents.0.message_content.text", "audio.url", "meta.score", "tool_calls"), AnyOf(random));
            }
        }

        if (attributes.Count == 0)
        {
            attributes.Add(new KeyValue { Key = form.Prefix + "0" + form.Infix + "role", Value = new AnyValue { StringValue = "user" } });
        }

        return attributes;
    }

    /// <summary>Mostly a string (the known field), sometimes a wrongly typed value that must survive as an extra.</summary>
    private static AnyValue Known(Random random, Func<string> text) =>
        random.Next(8) == 0 ? AnyOf(random) : new AnyValue { StringValue = text() };

    private static AnyValue AnyOf(Random random, int depth = 0)
    {
        switch (random.Next(depth > 1 ? 4 : 6))
        {
            case 0:
                return new AnyValue { StringValue = Text(random) };
            case 1:
                return new AnyValue { IntValue = random.Next(3) == 0 ? long.MaxValue - random.Next(10) : random.Next(-1000, 1000) };
            case 2:
                return new AnyValue { DoubleValue = random.Next(3) == 0 ? random.Next(100) : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-5, 25)) };
            case 3:
                return new AnyValue { BoolValue = random.Next(2) == 0 };
            case 4:
                var array = new ArrayValue();
                for (var i = random.Next(4); i > 0; i--)
                {
                    array.Values.Add(AnyOf(random, depth + 1));
                }

                return new AnyValue { ArrayValue = array };
            default:
                var list = new KeyValueList();
                for (var i = random.Next(3); i > 0; i--)
                {
                    list.Values.Add(new KeyValue { Key = "k" + i, Value = AnyOf(random, depth + 1) });
                }

                return new AnyValue { KvlistValue = list };
        }
    }

    private static string Text(Random random)
    {
        const string alphabet = "abc XYZ 012 \"quoted\" \\ / \n\t {}[]:, é ü 日本 😀 <tag> &amp; ' `";
        var length = random.Next(0, 40);
        var builder = new StringBuilder(length);
        var elements = StringInfo.GetTextElementEnumerator(alphabet);
        var pieces = new List<string>();
        while (elements.MoveNext())
        {
            pieces.Add((string)elements.Current);
        }

        for (var i = 0; i < length; i++)
        {
            builder.Append(pieces[random.Next(pieces.Count)]);
        }

        return builder.ToString();
    }

    private static string Pick(Random random, params string[] options) => options[random.Next(options.Length)];
}
