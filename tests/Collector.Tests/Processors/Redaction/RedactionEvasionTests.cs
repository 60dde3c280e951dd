using System.Text;
using Collector.Processors.Redaction;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Collector.Tests.Redaction.RedactionTestKit;

namespace Collector.Tests.Redaction;

/// <summary>Encoded and disguised secrets are found after normalising; their surroundings keep their exact form.</summary>
public sealed class RedactionEvasionTests
{
    private const string Key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx";

    /// <summary>Evasion form, and what a secret-free reader must not find in the output.</summary>
    internal static readonly (string Name, string Text, string Secret)[] Evasions =
    [
        ("percent-encoded @", "mail alice%40corp-example.com today", "alice%40corp"),
        ("percent-encoded @ in a URL", "https://x.example/?to=alice%40corp-example.com&page=2", "alice%40corp"),
        ("fullwidth @", "mail alice\uFF20corp-example.com today", "alice\uFF20corp"),
        ("fullwidth digits card", "card \uFF14\uFF11\uFF11\uFF11 1111 1111 1111 ok", "\uFF14\uFF11\uFF11\uFF11 1111"),
        ("zero-width space in a key", "key sk-proj-AbCdEf\u200BGhIjKlMnOpQrStUvWx end", "GhIjKlMnOpQrStUvWx"),
        ("soft hyphen in a key", "key sk-pro\u00ADj-AbCdEfGhIjKlMnOpQrStUvWx end", "AbCdEfGhIjKlMnOpQrStUvWx"),
        ("percent-encoded zero-width space", "key sk-proj-AbCdEf%E2%80%8BGhIjKlMnOpQrStUvWx end", "GhIjKlMnOpQrStUvWx"),
        ("base64 api key", "token " + B64(Key) + " sent", B64(Key)),
        ("base64 without padding, url alphabet", "t=" + B64(Key).TrimEnd('=').Replace('+', '-').Replace('/', '_'), B64(Key)[..20]),
        ("base64 of a header with a bearer token", B64("Authorization: Bearer abcdefgh12345678ZZ"), B64("Authorization: Bearer abcdefgh12345678ZZ")[..20]),
        ("base64 of an AWS key id", "aws " + B64("AKIAIOSFODNN7EXAMPLE"), B64("AKIAIOSFODNN7EXAMPLE")),
    ];

    [TestCaseSource(nameof(EvasionNames))]
    public void An_evasion_form_is_masked(string name)
    {
        var (_, text, secret) = System.Array.Find(Evasions, e => e.Name == name);
        var redacted = NewRedactor().Apply(text);

        Assert.That(redacted, Does.Contain(Redactor.Mask), name);
        Assert.That(redacted.Contains(secret, StringComparison.Ordinal), Is.False, $"{name}: the secret is still readable");
    }

    public static IEnumerable<string> EvasionNames() => Evasions.Select(e => e.Name);

    [Test]
    public void Only_the_disguised_secret_is_replaced_and_the_rest_keeps_its_form()
    {
        var redactor = NewRedactor();

        Assert.That(redactor.Apply("https://x.example/?q=a%20b&to=alice%40corp-example.com&page=2"), Is.EqualTo("https://x.example/?q=a%20b&to=****&page=2"));
        Assert.That(redactor.Apply("caf\u00E9 \uFF21 sk-proj-AbCdEf\u200BGhIjKlMnOpQrStUvWx."), Is.EqualTo("caf\u00E9 \uFF21 ****."));
    }

    [TestCase("50% off, 100%")]
    [TestCase("https://x.example/search?q=red%20shoes&lang=fr")]
    [TestCase("Grüße aus Köln, 東京の天気は晴れです")]
    [TestCase("ÅÄÖ — “quotes” – dash… ellipsis")]
    [TestCase("commit 3f786850e387550fdab836ed7e6dc881de23001b and uuid 123e4567-e89b-12d3-a456-426614174000")]
    [TestCase("aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBwbGFpbiBzZW50ZW5jZQ==")]
    [TestCase("VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw")]
    [TestCase("emoji 😀 and zwj family 👨‍👩‍👧")]
    public void Near_misses_of_the_evasion_checks_stay_as_they_are(string text)
    {
        var redactor = NewRedactor();

        Assert.That(redactor.Apply(text), Is.SameAs(text));
    }

    [Test]
    public void Allowed_values_apply_to_the_decoded_form()
    {
        var redactor = NewRedactor(c => c.AllowedValues = ["@example-corp\\.com$"]);

        Assert.That(redactor.Apply("to bob%40example-corp.com and eve%40corp-example.com"), Is.EqualTo("to bob%40example-corp.com and ****"));
    }

    [Test]
    public void A_clean_string_with_escapes_and_non_ascii_costs_no_allocation()
    {
        var redactor = NewRedactor();
        var text = "https://x.example/search?q=red%20shoes&lang=fr Grüße ＡＢＣ commit 3f786850e387550fdab836ed7e6dc881de23001b " + B64("just a harmless sentence here");
        var tally = RedactionTally.Current;
        var changed = 0;
        for (var i = 0; i < 20; i++)
        {
            changed += Apply();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            changed += Apply();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(changed, Is.Zero, "the text is clean");

        int Apply()
        {
            var masked = 0;
            return redactor.RedactString(text, tally, ref masked) is null ? 0 : 1;
        }
    }

    [Test]
    public void Evasions_planted_in_every_location_are_absent_from_the_exported_bytes_and_clean_data_is_identical()
    {
        var redactor = NewRedactor(c => c.Summary = true);
        var clean = new ResourceSpans { ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "lib", Version = "1.0" }, Spans = { new Span { Name = "chat 50% off", TraceState = "a=b", Attributes = { Attr("url.full", Str("https://x.example/?q=a%20b")), Attr("note", Str("Grüße")) } } } } } };
        var cleanBytes = clean.ToByteArray();
        foreach (var (name, text, secret) in Evasions)
        {
            var planted = new ResourceSpans
            {
                SchemaUrl = "https://s.example/" + text,
                ScopeSpans =
                {
                    new ScopeSpans
                    {
                        SchemaUrl = text,
                        Scope = new InstrumentationScope { Name = text, Version = text },
                        Spans =
                        {
                            new Span
                            {
                                Name = text, TraceState = "v=" + text,
                                Attributes = { Attr(text, Str(text)), Attr("json", Str("{\"content\":\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal) + "\"}")), Attr("k", Kvlist(Attr(text, Str("v")))) },
                                Events = { new Span.Types.Event { Name = text, Attributes = { Attr("e", Str(text)) } } },
                                Links = { new Span.Types.Link { TraceState = "l=" + text } },
                                Status = new Status { Message = text },
                            },
                        },
                    },
                },
            };
            RepeatedField<ResourceSpans> batch = [planted, clean];
            var tally = RedactionTally.Current;
            tally.Reset();
            redactor.Redact(batch, tally);
            tally.Reset();

            var exported = new ExportTraceServiceRequest { ResourceSpans = { batch } }.ToByteArray();
            Assert.That(exported.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)), Is.EqualTo(-1), $"{name} reached the exported bytes");
            Assert.That(clean.ToByteArray(), Is.EqualTo(cleanBytes), "clean data is byte-identical");
        }
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
