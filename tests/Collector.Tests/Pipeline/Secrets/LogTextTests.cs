using Collector.Pipeline.Export;
using Collector.Pipeline.Secrets;

namespace Collector.Tests.Secrets;

public sealed class LogTextTests
{
    [Test]
    public void Known_secrets_and_detected_ones_are_masked_before_the_text_is_cut()
    {
        var secrets = LogText.KnownSecrets(["Bearer tok-configured-123456", null, "ab"]);
        var padding = new string('x', LogText.MaxChars - 10);
        var text = $"{padding} tok-configured-123456 and sk-proj-abcdefghijklmnopqrstuvwx0123 to alice@corp-example.com";

        var scrubbed = LogText.Scrub(text, secrets)!;

        Assert.Multiple(() =>
        {
            Assert.That(scrubbed, Does.Not.Contain("tok-conf"), "a known secret straddling the cut is masked whole, never half shown");
            Assert.That(scrubbed, Does.StartWith(padding + " ****"));
            Assert.That(scrubbed, Does.EndWith("...(truncated)"));
            Assert.That(scrubbed, Has.Length.EqualTo(LogText.MaxChars + "...(truncated)".Length));
            Assert.That(LogText.Scrub("key sk-proj-abcdefghijklmnopqrstuvwx0123, mail alice@corp-example.com, Bearer abcdefgh12345"),
                Is.EqualTo("key ****, mail ****, Bearer ****"));
            Assert.That(secrets, Does.Not.Contain("ab"), "too short to search for");
        });
    }

    [Test]
    public void Control_characters_cannot_forge_log_lines_and_clean_text_is_unchanged()
    {
        Assert.Multiple(() =>
        {
            Assert.That(LogText.Scrub("bad\r\nERR forged line"), Is.EqualTo("bad  ERR forged line"));
            Assert.That(LogText.Scrub("HTTP 503: connection refused (127.0.0.1:4318)"), Is.EqualTo("HTTP 503: connection refused (127.0.0.1:4318)"), "addresses stay: ipv4 is not used here");
            Assert.That(LogText.Scrub(null), Is.Null);
        });
    }

    [Test]
    public void Every_export_result_error_is_scrubbed_whatever_exporter_built_it()
    {
        var result = ExportResult.Permanent("gRPC Unauthenticated: token Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig rejected" + new string('y', 2000));

        Assert.That(result.Error, Does.Not.Contain("eyJ").And.Contain("Bearer ****").And.EndWith("...(truncated)"));
        Assert.That(result.Error!.Length, Is.LessThanOrEqualTo(LogText.MaxChars + "...(truncated)".Length));
    }
}
