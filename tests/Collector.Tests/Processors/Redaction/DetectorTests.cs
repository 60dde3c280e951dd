using Collector.Pipeline.Secrets;
using Collector.Processors.Redaction;

namespace Collector.Tests.Redaction;

/// <summary>
/// Every built-in detector with true positives (the secret is gone, the text around it stays)
/// and near misses (text that looks similar but is not the thing, left byte-identical).
/// </summary>
public sealed class DetectorTests
{
    private static readonly Redactor Redactor = RedactionTestKit.NewRedactor();

    [TestCase("contact john.doe@example.com today", "contact **** today")]
    [TestCase("a.b+tag@mail.co.uk", "****")]
    [TestCase("<Jane_Smith@Company.IO>, cc ops-team@acme.dev.", "<****>, cc ****.")]
    [TestCase("mailto:x@y.org?subject=hi", "mailto:****?subject=hi")]
    public void Email_addresses_are_masked(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("ping @username in the channel")]
    [TestCase("root@localhost has no domain")]
    [TestCase("npm install left-pad@1.3.0")]
    [TestCase("use icon@2x.png for retina screens")]
    [TestCase("name@domain.c is not a valid domain")]
    [TestCase("decorators like @app.route('/x') and a@b")]
    public void Email_like_strings_that_are_not_addresses_stay(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [TestCase("4111 1111 1111 1111", "****")]
    [TestCase("card: 4111-1111-1111-1111, thanks", "card: ****, thanks")]
    [TestCase("pay with 5500000000000004 now", "pay with **** now")]
    [TestCase("amex 3782 822463 10005", "amex ****")]
    [TestCase("discover 6011111111111117.", "discover ****.")]
    [TestCase("card 4111 1111 1111 1111 123", "card **** 123")]
    [TestCase("card 4111 1111 1111 1111 exp 12/25", "card **** exp 12/25")]
    [TestCase("two: 4111111111111111 and 5555 5555 5555 4444", "two: **** and ****")]
    public void Luhn_valid_card_numbers_are_masked(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("4111 1111 1111 1112")]
    [TestCase("order 5500000000000005 failed")]
    [TestCase("timestamp 1700000000000000000")]
    [TestCase("id 1234567890123")]
    [TestCase("short 4111 1111 1111")]
    [TestCase("pi is 3.14159265358979323846")]
    [TestCase("dates 2024-01-15 and 2024-02-20")]
    public void Numbers_that_fail_Luhn_or_card_shape_stay(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [TestCase("call +1 415 555 2671 now", "call **** now")]
    [TestCase("+14155552671", "****")]
    [TestCase("UK office +44 20 7946 0958.", "UK office ****.")]
    [TestCase("Berlin +49 (0)30 1234567", "Berlin ****")]
    [TestCase("(415) 555-2671", "****")]
    [TestCase("tel 415-555-2671 or 415.555.2671", "tel **** or ****")]
    [TestCase("toll free 1-800-555-0199", "toll free ****")]
    [TestCase("London 020 7946 0958", "London ****")]
    [TestCase("Paris 06 12 34 56 78", "Paris ****")]
    public void Phone_numbers_are_masked(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("order id 4155552671")]
    [TestCase("epoch 1700000000")]
    [TestCase("on 2024-01-15 at 12:30:45")]
    [TestCase("ISBN 978-3-16-148410-0")]
    [TestCase("scores 10-20-30 and 3.14159")]
    [TestCase("growth of +5% this year")]
    public void Plain_numbers_ids_and_dates_are_not_phones(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [TestCase("server 10.0.0.1 is down", "server **** is down")]
    [TestCase("from 192.168.1.254:8080", "from ****:8080")]
    [TestCase("ip=255.255.255.255", "ip=****")]
    [TestCase("resolve via 8.8.8.8.", "resolve via ****.")]
    public void Ipv4_addresses_are_masked(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("version 1.2.3.4.5")]
    [TestCase("release v1.2.3.4")]
    [TestCase("semver 1.2.3")]
    [TestCase("bad 256.1.1.1 and 10.0.0.256")]
    [TestCase("build 2024.01.15.10")]
    [TestCase("zeros 01.02.03.04")]
    public void Versions_and_invalid_quads_are_not_ipv4(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [TestCase("key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL ok", "key **** ok")]
    [TestCase("OPENAI_API_KEY=sk-proj-Ab3_dE-fGhIjKlMnOpQrStUvWxYz0123456789", "OPENAI_API_KEY=****")]
    [TestCase("\"sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz0123456789_AA\"", "\"****\"")]
    [TestCase("aws AKIAIOSFODNN7EXAMPLE", "aws ****")]
    [TestCase("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "token ****")]
    [TestCase("github_pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "****")]
    public void Api_keys_are_masked(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("update the task-list and the desk-lamp order")]
    [TestCase("ask-me-anything-about-the-weather-today")]
    [TestCase("we use sk-learn-compatible-estimators here")]
    [TestCase("risk-assessment-framework-2024-edition-final")]
    [TestCase("sk-short123 and AKIA1234 and ghp_short")]
    public void Sk_in_ordinary_words_and_short_prefixes_stay(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [TestCase("Authorization: Bearer abcdef123456.XYZ-_~+/=", "Authorization: Bearer ****")]
    [TestCase("curl -H 'authorization: bearer 9f8e7d6c5b4a3210'", "curl -H 'authorization: bearer ****'")]
    public void Bearer_tokens_are_masked_and_the_scheme_kept(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("send a Bearer token in the header")]
    [TestCase("the bearer of bad news")]
    public void Bearer_in_prose_stays(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [TestCase("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c end", "jwt **** end")]
    [TestCase("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer ****")]
    public void Jwts_are_masked(string input, string expected) => Assert.That(Redactor.Apply(input), Is.EqualTo(expected));

    [TestCase("header prefix eyJ alone")]
    [TestCase("single segment eyJhbGciOiJIUzI1NiJ9")]
    [TestCase("theyJump.over.fences")]
    public void Jwt_like_fragments_stay(string input) => Assert.That(Redactor.Apply(input), Is.SameAs(input));

    [Test]
    public void Detectors_that_are_off_do_not_run()
    {
        var emailOnly = RedactionTestKit.NewRedactor(c => c.Detectors = [RedactionDetector.Email]);
        const string text = "bob@example.com 10.0.0.1 4111 1111 1111 1111 sk-abcdefghijklmnopqrstuvwxyz0123";

        Assert.That(emailOnly.Apply(text), Is.EqualTo("**** 10.0.0.1 4111 1111 1111 1111 sk-abcdefghijklmnopqrstuvwxyz0123"));
    }
}
