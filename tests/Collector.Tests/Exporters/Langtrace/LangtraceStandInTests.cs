using System.Net.Http.Headers;
using System.Text;
using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>
/// The stand-in behaves as Langtrace's route.ts does, including the traps the exporter's request
/// form avoids: a plain OTLP/JSON export (as otlphttp would send it) loses data there.
/// </summary>
public sealed class LangtraceStandInTests : LangtraceTestBase
{
    private const string OtelAgent = "OTel-OTLP-Exporter-DotNet/1.20.1";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(20) };

    [Test]
    public async Task A_plain_otlp_json_export_keeps_only_the_first_scope_and_only_string_and_int_values()
    {
        var first = NewSpan("first", null, Attr("s", Str("x")), Attr("i", Int(7)), Attr("b", Bool(true)), Attr("d", Dbl(0.5)), Attr("a", Arr(Str("y"))));
        var request = SignalOps<ResourceSpans>.Instance.CreateRequest(
        [
            Resource("svc", "scope-1", first),
            Resource("svc", "scope-2", NewSpan("second")),
        ]);

        var status = await PostAsync(OtlpJson.FormatUtf8(request), "application/json", OtelAgent, ApiKey);

        Assert.That(status, Is.EqualTo(200));
        var stored = StandIn.Stored.Single();
        Assert.That(stored.Name, Is.EqualTo("first"), "resourceSpans[1] is never read");
        Assert.That(stored.Attributes.Keys, Is.EquivalentTo(new[] { "s", "i" }), "bool, double and array values are dropped");
    }

    [Test]
    public async Task An_event_without_attributes_or_time_fails_the_whole_request_with_404()
    {
        var noAttributes = """{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"s","startTimeUnixNano":"1","endTimeUnixNano":"2","events":[{"name":"e","timeUnixNano":"1"}]}]}]}]}""";
        var noTime = """{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"s","startTimeUnixNano":"1","endTimeUnixNano":"2","events":[{"name":"e","attributes":[]}]}]}]}]}""";

        Assert.That(await PostAsync(Encoding.UTF8.GetBytes(noAttributes), "application/json", OtelAgent, ApiKey), Is.EqualTo(404));
        Assert.That(await PostAsync(Encoding.UTF8.GetBytes(noTime), "application/json", OtelAgent, ApiKey), Is.EqualTo(404));
        Assert.That(StandIn.Stored, Is.Empty);
    }

    [Test]
    public async Task The_user_agent_picks_the_branch_and_the_key_is_checked_after_parsing()
    {
        var otlp = OtlpJson.FormatUtf8(SignalOps<ResourceSpans>.Instance.CreateRequest([Resource("svc", "scope", NewSpan("x"))]));

        var legacyBranch = await PostAsync(otlp, "application/json", "curl/8.0", ApiKey);
        var otherOtelAgent = await PostAsync(otlp, "application/json", "opentelemetry-js", ApiKey);
        var noKey = await PostAsync(otlp, "application/json", OtelAgent, null);
        var unknownKey = await PostAsync(otlp, "application/json", OtelAgent, "other-key");
        var badBodyNoKey = await PostAsync("{not json"u8.ToArray(), "application/json", OtelAgent, null);
        Assert.Multiple(() =>
        {
            Assert.That(legacyBranch, Is.EqualTo(404), "an OTLP object on the legacy branch");
            Assert.That(otherOtelAgent, Is.EqualTo(200), "'opentelemetry' also selects the OTLP branch");
            Assert.That(noKey, Is.EqualTo(400));
            Assert.That(unknownKey, Is.EqualTo(401));
            Assert.That(badBodyNoKey, Is.EqualTo(404), "the body is parsed before the key is checked");
        });
    }

    [Test]
    public async Task The_protobuf_branch_stores_base64_ids_and_no_kind()
    {
        var span = NewSpan("proto");
        var request = SignalOps<ResourceSpans>.Instance.CreateRequest([Resource("svc", "scope", span)]);

        Assert.That(await PostAsync(request.ToByteArray(), "application/x-protobuf", "OTel-OTLP-Exporter-Python/1.27.0", ApiKey), Is.EqualTo(200));
        var stored = StandIn.Stored.Single();
        Assert.That(stored.SpanId, Is.EqualTo(Convert.ToBase64String(span.SpanId.Span)));
        Assert.That(stored.Kind, Is.Null, "\"SPAN_KIND_CLIENT\" through parseInt");
        Assert.That(await PostAsync(request.ToByteArray(), "application/x-protobuf; charset=binary", OtelAgent, ApiKey), Is.EqualTo(404), "the content type must match exactly");
    }

    private async Task<int> PostAsync(byte[] body, string contentType, string userAgent, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, StandIn.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        using var response = await Http.SendAsync(request);
        return (int)response.StatusCode;
    }
}
