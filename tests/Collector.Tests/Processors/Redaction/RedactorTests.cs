using System.Diagnostics;
using System.Text;
using Collector.Processors.Redaction;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>The rule kinds, actions, JSON handling and limits, on values directly.</summary>
public sealed class RedactorTests
{
    [Test]
    public void Hash_gives_equal_outputs_for_equal_inputs_and_different_ones_otherwise()
    {
        var a = NewRedactor(c => (c.Action, c.HashKey) = (RedactionAction.Hash, "key-one"));
        var b = NewRedactor(c => (c.Action, c.HashKey) = (RedactionAction.Hash, "key-two"));

        var first = a.Apply("mail bob@example.com");
        var again = a.Apply("reply to bob@example.com");
        var other = a.Apply("mail alice@example.com");
        var otherKey = b.Apply("mail bob@example.com");

        Assert.That(first, Does.Match("^mail hmac:[0-9a-f]{32}$"));
        Assert.That(again, Is.EqualTo("reply to " + first["mail ".Length..]), "same value, same hash: joinable");
        Assert.That(other, Is.Not.EqualTo(first));
        Assert.That(otherKey, Does.Match("^mail hmac:[0-9a-f]{32}$").And.Not.EqualTo(first));
    }

    [Test]
    public void Hash_is_hmac_sha256_of_the_utf8_value_truncated_to_128_bits()
    {
        var redactor = NewRedactor(c => (c.Action, c.HashKey) = (RedactionAction.Hash, "k"));
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("k"u8, "bob@example.com"u8)[..16]);

        Assert.That(redactor.Apply("bob@example.com"), Is.EqualTo("hmac:" + expected));
    }

    [Test]
    public void Blocked_values_mask_matching_substrings_and_allowed_values_exempt_matches()
    {
        var redactor = NewRedactor(c =>
        {
            c.BlockedValues = [@"\bACME-[0-9]{6}\b"];
            c.AllowedValues = [@"@example-corp\.com$", @"^10\.0\.0\.1$"];
        });

        var result = redactor.Apply("ticket ACME-123456 from bob@example-corp.com cc alice@gmail.com via 10.0.0.1 and 10.0.0.2", out var masked);

        Assert.That(result, Is.EqualTo("ticket **** from bob@example-corp.com cc **** via 10.0.0.1 and ****"));
        Assert.That(masked, Is.EqualTo(3));
    }

    [Test]
    public void Blocked_keys_mask_whole_values_of_every_type_at_any_depth()
    {
        var redactor = NewRedactor(c => c.BlockedKeyPatterns = ["(?i)password", "(?i)^authorization$"]);
        var attributes = new RepeatedField<KeyValue>
        {
            Attr("db.password", Str("hunter2")),
            Attr("Authorization", Array(Str("Basic dXNlcjpwYXNz"))),
            Attr("retry.password_len", new AnyValue { IntValue = 7 }),
            Attr("config", Kvlist(Attr("user", Str("svc")), Attr("password", Kvlist(Attr("v", Str("x")))), Attr("list", Array(Kvlist(Attr("PASSWORD", new AnyValue { BoolValue = true })))))),
            Attr("note", Str("authorization is needed")),
        };

        var tally = RedactionTally.Current;
        tally.Reset();
        tally.BeginItem();
        redactor.RedactAttributes(attributes, tally);

        Assert.That(attributes[0].Value.StringValue, Is.EqualTo("****"));
        Assert.That(attributes[1].Value.StringValue, Is.EqualTo("****"));
        Assert.That(attributes[2].Value.StringValue, Is.EqualTo("****"));
        var config = attributes[3].Value.KvlistValue.Values;
        Assert.That(config[0].Value.StringValue, Is.EqualTo("svc"));
        Assert.That(config[1].Value.StringValue, Is.EqualTo("****"));
        Assert.That(config[2].Value.ArrayValue.Values[0].KvlistValue.Values[0].Value.StringValue, Is.EqualTo("****"));
        Assert.That(attributes[4].Value.StringValue, Is.EqualTo("authorization is needed"), "key patterns match keys, not values");
        Assert.That(tally.ItemMasked, Is.EqualTo(5));
        Assert.That(tally.ItemMaskedKeys, Is.EquivalentTo(new[] { "db.password", "Authorization", "retry.password_len", "config" }));
        Assert.That(tally.MaskedByRule[RedactionTally.Rules.BlockedKeys], Is.EqualTo(5));
        tally.Reset();
    }

    [Test]
    public void Allowed_keys_remove_every_other_key_but_keep_service_name()
    {
        var redactor = NewRedactor(c => c.AllowedKeys = ["gen_ai.request.model", "gen_ai.prompt"]);
        var attributes = new RepeatedField<KeyValue>
        {
            Attr("service.name", Str("chat")),
            Attr("user.email", Str("bob@example.com")),
            Attr("gen_ai.request.model", Str("gpt-4o")),
            Attr("enduser.id", Str("u-42")),
            Attr("gen_ai.prompt", Str("write to bob@example.com")),
        };
        var tally = RedactionTally.Current;
        tally.Reset();
        tally.BeginItem();

        redactor.RedactAttributes(attributes, tally);

        Assert.That(attributes.Select(a => a.Key), Is.EqualTo(new[] { "service.name", "gen_ai.request.model", "gen_ai.prompt" }));
        Assert.That(attributes[2].Value.StringValue, Is.EqualTo("write to ****"), "kept keys are still scanned");
        Assert.That(tally.ItemRemovedKeys, Is.EqualTo(new[] { "user.email", "enduser.id" }));
        Assert.That(tally.RemovedKeys, Is.EqualTo(2));
        tally.Reset();
    }

    [Test]
    public void Integer_attributes_holding_card_numbers_are_masked_and_other_integers_stay()
    {
        var redactor = NewRedactor();
        var card = new AnyValue { IntValue = 4111111111111111 };
        var timestamp = new AnyValue { IntValue = 1_700_000_000_000_000_000 };
        var tokens = new AnyValue { IntValue = 123456 };
        var tally = RedactionTally.Current;

        Assert.That(redactor.RedactValue(card, 1, tally), Is.EqualTo(1));
        Assert.That(redactor.RedactValue(timestamp, 1, tally), Is.Zero);
        Assert.That(redactor.RedactValue(tokens, 1, tally), Is.Zero);
        Assert.That(card.StringValue, Is.EqualTo("****"));
        Assert.That(timestamp.IntValue, Is.EqualTo(1_700_000_000_000_000_000));
        tally.Reset();
    }

    [Test]
    public void Strings_inside_json_are_redacted_and_the_rest_of_the_document_kept_byte_for_byte()
    {
        var redactor = NewRedactor(c => c.BlockedKeyPatterns = ["(?i)api[_.-]?key"]);
        const string messages = """
            [ {"role": "system", "content": "You are helpful."},
              {"role":"user","content":"I am bob@example.com, card 4111 1111 1111 1111", "meta": {"api_key": {"v": 1}, "n": 4111111111111111}},
              {"role":"user","content":"bob\u0040example.com says \"hi\"\n", "bob@example.com": true, "apiKey": null} ]
            """;

        var result = redactor.Apply(messages, out var masked);

        Assert.That(result, Is.EqualTo("""
            [ {"role": "system", "content": "You are helpful."},
              {"role":"user","content":"I am ****, card ****", "meta": {"api_key": "****", "n": "****"}},
              {"role":"user","content":"**** says \"hi\"\n", "****": true, "apiKey": "****"} ]
            """));
        Assert.That(masked, Is.EqualTo(7));
    }

    [Test]
    public void Json_inside_a_json_string_is_redacted_too()
    {
        var redactor = NewRedactor();
        const string nested = """{"messages": "[{\"content\": \"call +1 415 555 2671\"}]"}""";

        Assert.That(redactor.Apply(nested), Is.EqualTo("""{"messages": "[{\"content\": \"call ****\"}]"}"""));
    }

    [Test]
    public void Clean_json_comes_back_as_the_same_instance()
    {
        var redactor = NewRedactor(c => c.BlockedKeyPatterns = ["(?i)password"]);
        const string clean = """[{"role":"user","content":"Summarise release 1.2.3.4.5 for the task-list"}]""";

        Assert.That(redactor.Apply(clean), Is.SameAs(clean));
    }

    [Test]
    public void Invalid_or_too_deep_json_is_scanned_as_plain_text()
    {
        var redactor = NewRedactor(c => c.MaxJsonDepth = 8);
        var deep = new string('[', 20) + "\"bob@example.com\"" + new string(']', 20);
        const string broken = "{\"content\": \"bob@example.com\", ";

        Assert.That(redactor.Apply(deep), Is.EqualTo(new string('[', 20) + "\"****\"" + new string(']', 20)));
        Assert.That(redactor.Apply(broken), Is.EqualTo("{\"content\": \"****\", "));
    }

    [Test]
    public void Json_over_max_json_bytes_is_scanned_as_plain_text()
    {
        var redactor = NewRedactor(c => (c.MaxJsonBytes, c.BlockedKeyPatterns) = (64, ["secret"]));
        var small = """{"secret": "abc"}""";
        var large = "{\"secret\": \"abc\", \"pad\": \"" + new string('x', 100) + "\"}";

        Assert.That(redactor.Apply(small), Is.EqualTo("""{"secret": "****"}"""));
        Assert.That(redactor.Apply(large), Is.SameAs(large), "not parsed, so its keys are not seen; detectors still run");
    }

    [Test]
    public void Values_over_max_value_bytes_are_masked_whole_and_counted()
    {
        var redactor = NewRedactor(c => c.MaxValueBytes = 1000);
        var metrics = new Pipeline.Telemetry.SelfMetrics();
        var processor = new RedactionProcessor<OpenTelemetry.Proto.Logs.V1.ResourceLogs>(redactor, new RedactionMetrics(metrics, "redaction"), new TestSupport.RecordingConsumer<OpenTelemetry.Proto.Logs.V1.ResourceLogs>());
        var logs = LogsWithBody(Str(new string('é', 600)));

        processor.Redact(logs);

        Assert.That(logs[0].ScopeLogs[0].LogRecords[0].Body.StringValue, Is.EqualTo("****"), "600 chars but 1200 UTF-8 bytes");
        Assert.That(metrics.Read("collector_processor_redaction_oversized_values_total", ("processor", "redaction")), Is.EqualTo(1));
    }

    [Test]
    public void Nesting_deeper_than_the_limit_is_masked_whole()
    {
        var redactor = NewRedactor(c => c.MaxJsonDepth = 10);
        var root = Str("bob@example.com");
        for (var i = 0; i < 1000; i++)
        {
            root = i % 2 == 0 ? Array(root) : Kvlist(Attr("k", root));
        }

        var tally = RedactionTally.Current;
        var masked = redactor.RedactValue(root, 1, tally);

        var walk = root;
        for (var depth = 1; depth < 10; depth++)
        {
            walk = walk.ValueCase == AnyValue.ValueOneofCase.ArrayValue ? walk.ArrayValue.Values[0] : walk.KvlistValue.Values[0].Value;
        }

        Assert.That(masked, Is.EqualTo(1));
        Assert.That(walk.StringValue, Is.EqualTo("****"));
        Assert.That(tally.Oversized, Is.EqualTo(1));
        tally.Reset();
    }

    [Test]
    public void A_regex_timeout_masks_the_whole_value_and_is_counted()
    {
        var redactor = NewRedactor(c => (c.BlockedValues, c.RegexTimeout) = ([@"^(\w+\s?)*$"], TimeSpan.FromMilliseconds(20)));
        var tally = RedactionTally.Current;
        tally.Reset();
        var masked = 0;

        var result = redactor.RedactString("an ordinary sentence that keeps going and going and going and going and going!", tally, ref masked);

        Assert.That(result, Is.EqualTo("****"));
        Assert.That(tally.Timeouts, Is.EqualTo(1));
        tally.Reset();
    }

    [Test]
    public void Adversarial_megabyte_values_finish_in_bounded_time()
    {
        var redactor = NewRedactor(c => c.BlockedValues = [@"\bACME-[0-9]{6}\b"]);
        string[] inputs =
        [
            Repeat("1 ", 500_000),
            Repeat("a@", 500_000),
            Repeat("a.", 500_000) + "@x",
            Repeat("sk-", 330_000),
            Repeat("+1 ", 330_000),
            Repeat("[", 500_000),
            Repeat("{\"a\":", 200_000),
        ];

        foreach (var input in inputs)
        {
            var watch = Stopwatch.StartNew();
            _ = redactor.Apply(input);
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), input[..10]);
        }
    }

    [Test]
    public void A_clean_string_costs_no_allocation()
    {
        var redactor = NewRedactor(c =>
        {
            c.BlockedKeyPatterns = ["(?i)password"];
            c.BlockedValues = [@"\bACME-[0-9]{6}\b"];
            c.AllowedValues = ["@example-corp"];
        });
        var sentence = "Please update the task-list for release 1.2.3.4.5 on 2024-01-15; ping @team or root@localhost (order 4155552671). ";
        var plain = Repeat(sentence, 1024 / sentence.Length + 1)[..1024];
        var json = "[{\"role\":\"user\",\"content\":\"" + plain[..900] + "\"}]";
        var tally = RedactionTally.Current;

        foreach (var text in new[] { plain, json })
        {
            var changed = 0;
            for (var i = 0; i < 20; i++)
            {
                changed += Apply(text);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                changed += Apply(text);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(changed, Is.Zero, "the text is clean");
            Assert.That(allocated, Is.Zero, text[..10]);
        }

        int Apply(string text)
        {
            var masked = 0;
            return redactor.RedactString(text, tally, ref masked) is null ? 0 : 1;
        }
    }

    [Test]
    public void A_clean_span_batch_costs_no_allocation()
    {
        var redactor = NewRedactor(c => (c.BlockedKeyPatterns, c.BlockedValues, c.Summary) = (["(?i)authorization"], [@"\bACME-[0-9]{6}\b"], true));
        var processor = new RedactionProcessor<OpenTelemetry.Proto.Trace.V1.ResourceSpans>(redactor, new RedactionMetrics(new Pipeline.Telemetry.SelfMetrics(), "r"), new TestSupport.RecordingConsumer<OpenTelemetry.Proto.Trace.V1.ResourceSpans>());
        var batch = TestSupport.TestData.Spans(2, 2, 5);
        foreach (var span in batch.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
        {
            span.Attributes.Add(Attr("gen_ai.input.messages", Str("""[{"role":"user","content":"Summarise release 1.2.3.4.5 for the task-list"}]""")));
            span.Attributes.Add(Attr("tags", Array(Str("a"), Kvlist(Attr("k", Str("v"))))));
            span.Attributes.Add(TestSupport.TestData.Attr("gen_ai.usage.input_tokens", 1_700_000_000_123));
            span.Events.Add(new OpenTelemetry.Proto.Trace.V1.Span.Types.Event { Name = "gen_ai.content.prompt", Attributes = { Attr("gen_ai.prompt", Str("write a haiku")) } });
            span.Links.Add(new OpenTelemetry.Proto.Trace.V1.Span.Types.Link { Attributes = { Attr("link.reason", Str("retry")) } });
            span.Status = new OpenTelemetry.Proto.Trace.V1.Status { Message = "ok" };
        }

        var before = batch.Clone();
        for (var i = 0; i < 20; i++)
        {
            processor.Redact(batch);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            processor.Redact(batch);
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.That(batch, Is.EqualTo(before), "the batch is clean");
        Assert.That(allocated, Is.Zero);
    }

    private static string Repeat(string s, int times) => new StringBuilder(s.Length * times).Insert(0, s, times).ToString();

    private static RepeatedField<OpenTelemetry.Proto.Logs.V1.ResourceLogs> LogsWithBody(AnyValue body)
    {
        var scope = new OpenTelemetry.Proto.Logs.V1.ScopeLogs();
        scope.LogRecords.Add(new OpenTelemetry.Proto.Logs.V1.LogRecord { Body = body });
        var resource = new OpenTelemetry.Proto.Logs.V1.ResourceLogs();
        resource.ScopeLogs.Add(scope);
        return [resource];
    }
}
