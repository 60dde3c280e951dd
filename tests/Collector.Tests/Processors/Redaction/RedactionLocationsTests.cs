using System.Text;
using Collector.Processors.Redaction;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>
/// Every string a backend stores, not only attribute values: names, keys, scope and header
/// strings, and the fail-closed summary. Checked on the exported protobuf bytes.
/// </summary>
public sealed class RedactionLocationsTests
{
    private const string Email = "bob@corp-example.com";
    private const string ApiKey = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx";
    private const string Card = "4111111111111111";

    private static readonly string[] Planted = [Email, ApiKey, Card];

    [Test]
    public void Fail_closed_summary_lists_removed_keys_with_their_secrets_masked()
    {
        var redactor = NewRedactor(c => (c.AllowedKeys, c.Summary) = (["gen_ai.request.model"], true));
        var span = new Span { Name = "chat", Attributes = { Attr("gen_ai.request.model", Str("gpt-4o")), Attr("user=" + Email, Str("x")), Attr(ApiKey, Str("y")), Attr("card " + Card, Str("z")), Attr("plain.key", Str("w")) } };
        var batch = Traces(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } });

        Redact(redactor, batch);

        var removed = span.Attributes.Single(a => a.Key == SummaryKeys.RemovedKeys).Value.StringValue;
        Assert.That(removed, Is.EqualTo("****,card ****,plain.key,user=****"));
        AssertNoSecret(new ExportTraceServiceRequest { ResourceSpans = { batch } });
    }

    [Test]
    public void Fail_closed_summary_hashes_secret_keys_with_action_hash()
    {
        var redactor = NewRedactor(c => (c.AllowedKeys, c.Summary, c.Action, c.HashKey) = (["keep"], true, RedactionAction.Hash, "k1"));
        var span = new Span { Name = "chat", Attributes = { Attr("user=" + Email, Str("x")) } };
        Redact(redactor, Traces(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } }));

        Assert.That(span.Attributes.Single(a => a.Key == SummaryKeys.RemovedKeys).Value.StringValue, Does.Match("^user=hmac:[0-9a-f]{32}$"));
    }

    [Test]
    public void Secrets_in_names_keys_scopes_and_headers_are_masked_in_place()
    {
        var redactor = NewRedactor(c => c.Summary = true);
        var traces = Traces(PlantedSpans());
        var logs = Logs(PlantedLogs());

        Redact(redactor, traces);
        Redact(redactor, logs);

        AssertNoSecret(new ExportTraceServiceRequest { ResourceSpans = { traces } });
        AssertNoSecret(new ExportLogsServiceRequest { ResourceLogs = { logs } });
        var span = traces[0].ScopeSpans[0].Spans[0];
        Assert.That(span.Name, Is.EqualTo("call ****"));
        Assert.That(span.Attributes.Single(a => a.Key == SummaryKeys.MaskedKeys).Value.StringValue,
            Is.EqualTo("events.name,links.trace_state,name,nested,trace_state,user=****"));
        Assert.That(traces[0].ScopeSpans[0].Scope.Version, Is.EqualTo("1.0+****"));
        Assert.That(logs[0].ScopeLogs[0].LogRecords[0].SeverityText, Is.EqualTo("INFO ****"));
    }

    [Test]
    public void Unscanned_locations_leave_those_strings_as_they_are()
    {
        var every = Enum.GetValues<RedactionLocation>();
        var redactor = NewRedactor(c => c.UnscannedLocations = [.. every]);
        var traces = Traces(PlantedSpans());
        var logs = Logs(PlantedLogs());
        var tracesBefore = traces.Clone();
        var logsBefore = logs.Clone();

        Redact(redactor, traces);
        Redact(redactor, logs);

        // Only the attribute values (always scanned) changed.
        Assert.That(traces[0].ScopeSpans[0].Spans[0].Name, Is.EqualTo(tracesBefore[0].ScopeSpans[0].Spans[0].Name));
        Assert.That(traces[0].SchemaUrl, Is.EqualTo(tracesBefore[0].SchemaUrl));
        Assert.That(logs[0].ScopeLogs[0].LogRecords[0].EventName, Is.EqualTo(logsBefore[0].ScopeLogs[0].LogRecords[0].EventName));
        Assert.That(logs[0].ScopeLogs[0].LogRecords[0].Body.KvlistValue.Values[0].Key, Does.Contain(Email));
    }

    [Test]
    public void Clean_names_keys_and_headers_stay_byte_identical()
    {
        var redactor = NewRedactor(c => c.Summary = true);
        var traces = Traces(CleanSpans());
        var bytes = new ExportTraceServiceRequest { ResourceSpans = { traces } }.ToByteArray();

        Redact(redactor, traces);

        Assert.That(new ExportTraceServiceRequest { ResourceSpans = { traces } }.ToByteArray(), Is.EqualTo(bytes));
    }

    /// <summary>A planted secret in every location a span batch stores.</summary>
    internal static ResourceSpans PlantedSpans() => new()
    {
        SchemaUrl = "https://schemas.example/" + ApiKey,
        Resource = new Resource { Attributes = { Attr("service.name", Str("chat")) } },
        ScopeSpans =
        {
            new ScopeSpans
            {
                SchemaUrl = "https://schemas.example/?u=" + Email,
                Scope = new InstrumentationScope { Name = "lib " + Email, Version = "1.0+" + ApiKey },
                Spans =
                {
                    new Span
                    {
                        Name = "call " + ApiKey,
                        TraceState = "vendor=" + ApiKey,
                        Attributes = { Attr("user=" + Email, Str("ok")), Attr("nested", Kvlist(Attr("card " + Card, Str("v")))) },
                        Events = { new Span.Types.Event { Name = "mail " + Email } },
                        Links = { new Span.Types.Link { TraceState = "k=" + ApiKey } },
                    },
                },
            },
        },
    };

    internal static ResourceLogs PlantedLogs() => new()
    {
        SchemaUrl = "https://schemas.example/" + Email,
        ScopeLogs =
        {
            new ScopeLogs
            {
                Scope = new InstrumentationScope { Name = ApiKey },
                LogRecords =
                {
                    new LogRecord
                    {
                        EventName = "login " + Email,
                        SeverityText = "INFO " + ApiKey,
                        Body = Kvlist(Attr(Email, Str("value")), Attr("k", Kvlist(Attr(Card, Str("v"))))),
                        Attributes = { Attr(ApiKey, Str("v")) },
                    },
                },
            },
        },
    };

    private static ResourceSpans CleanSpans() => new()
    {
        SchemaUrl = "https://opentelemetry.io/schemas/1.26.0",
        ScopeSpans =
        {
            new ScopeSpans
            {
                SchemaUrl = "https://opentelemetry.io/schemas/1.26.0",
                Scope = new InstrumentationScope { Name = "openai.instrumentation", Version = "1.2.3" },
                Spans =
                {
                    new Span
                    {
                        Name = "chat gpt-4o", TraceState = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                        Attributes = { Attr("gen_ai.request.model", Str("gpt-4o")), Attr("task-list", Kvlist(Attr("release 1.2.3.4.5", Str("x")))) },
                        Events = { new Span.Types.Event { Name = "gen_ai.content.prompt" } },
                        Links = { new Span.Types.Link { TraceState = "a=b" } },
                    },
                },
            },
        },
    };

    internal static void AssertNoSecret(IMessage exported)
    {
        var bytes = exported.ToByteArray();
        foreach (var secret in Planted)
        {
            Assert.That(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)), Is.EqualTo(-1), $"a planted {SecretKind(secret)} reached the exported bytes");
        }
    }

    /// <summary>Names the kind only: a failure message must not print the secret.</summary>
    private static string SecretKind(string secret) => secret == Email ? "email" : secret == Card ? "card" : "api key";

    private static RepeatedField<ResourceSpans> Traces(ResourceSpans resource) => [resource];

    private static RepeatedField<ResourceLogs> Logs(ResourceLogs resource) => [resource];

    private static void Redact(Redactor redactor, RepeatedField<ResourceSpans> batch) => Run(t => redactor.Redact(batch, t));

    private static void Redact(Redactor redactor, RepeatedField<ResourceLogs> batch) => Run(t => redactor.Redact(batch, t));

    private static void Run(Action<RedactionTally> redact)
    {
        var tally = RedactionTally.Current;
        tally.Reset();
        redact(tally);
        tally.Reset();
    }
}
