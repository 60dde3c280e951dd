using System.Globalization;
using System.Text;

namespace Collector.Tests.Redaction;

/// <summary>A secret planted in a prompt: its kind (a detector or rule name) and its exact text.</summary>
internal sealed record PlantedSecret(string Kind, string Value);

/// <summary>One generated prompt; clean when it carries no secret (near misses only).</summary>
internal sealed record CorpusPrompt(string Text, IReadOnlyList<PlantedSecret> Secrets)
{
    public bool IsClean => Secrets.Count == 0;

    /// <summary>The prompt as it must come out: every secret replaced by the mask, nothing else changed.</summary>
    public string Redacted()
    {
        var text = Text;
        foreach (var secret in Secrets)
        {
            text = text.Replace(secret.Value, "****", StringComparison.Ordinal);
        }

        return text;
    }
}

/// <summary>
/// Deterministic, realistic LLM prompts: dirty ones carry e-mail addresses, card numbers,
/// phone numbers, IPv4 addresses, API keys of every shape, bearer tokens, JWTs and a custom
/// ticket id; clean ones are full of near misses (versions, invalid card numbers, ids, dates,
/// "task-list", image names) and non-ASCII text.
/// </summary>
internal sealed class PromptCorpus(int seed)
{
    private const string Alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private const string Base64Url = Alnum + "-_";

    private static readonly string[] FirstNames = ["alice", "bob", "carol", "dmitri", "eve", "farah", "goran", "hiro", "ines", "jamal"];
    private static readonly string[] LastNames = ["smith", "nguyen", "garcia", "okafor", "muller", "tanaka", "rossi", "kowalski"];
    private static readonly string[] Domains = ["gmail.com", "outlook.com", "acme-corp.io", "mail.example.co.uk", "proton.me", "uni-heidelberg.de"];

    private static readonly string[] DirtyTemplates =
    [
        "Hi, I'm {name}. My email is {email} and my phone is {phone}. Can you check why my card {card} was declined?",
        "Debug this: curl -H 'Authorization: Bearer {bearer}' https://api.internal/v1/items returned 401 from {ip}.",
        "Here is my config: OPENAI_API_KEY={openai} and AWS_ACCESS_KEY_ID={aws}. Why does boto3 fail?",
        "The session token is {jwt} - decode it and tell me when it expires.",
        "Please reopen ticket {acme} for {email}, they called from {phone}.",
        "git push failed with token {github}, which scopes does it need?",
        "Our Anthropic key {anthropic} stopped working after rotation; the project key {openai_project} still works.",
        "Summarise this email thread:\n> From: {email}\n> Sent from {ip}\n> Please charge {card} again.",
        "Translate to French: \"Call me at {phone} or write to {email}.\"",
        "Fine-grained token {github_pat} leaked in CI logs on {ip}; how do I revoke it?",
    ];

    private static readonly string[] CleanTemplates =
    [
        "Summarise the release notes for {version} and list the breaking changes.",
        "Update the task-list and the desk-lamp inventory for order {id}.",
        "What happened on {date} at 14:30:05? Build {build} failed twice.",
        "Use icon@2x.png and logo@3x.png in the header and ping @design-team about it.",
        "Is {bad_card} a valid card number? It should fail the Luhn check.",
        "Our pipeline uses sk-learn-compatible-estimators and a risk-assessment-framework-v2.",
        "Explain the phrase 'the bearer of bad news' and why a Bearer token differs from a cookie.",
        "Multiply 3.14159265358979 by 2.71828 and round to {n} places.",
        "Convert epoch {epoch} to a date in UTC and in Europe/Berlin.",
        "Übersetze bitte höflich: 'Wo ist der Bahnhof?' 🙂 日本語でも書いてください。",
        "Write a haiku about autumn leaves falling on version {version}.",
        "Compare semver {version} with the dotted build {build}; neither is an address.",
    ];

    private readonly Random _random = new(seed);

    /// <summary>Alternating dirty and clean prompts; every secret kind appears in the dirty ones.</summary>
    public List<CorpusPrompt> Generate(int count)
    {
        var prompts = new List<CorpusPrompt>(count);
        for (var i = 0; i < count; i++)
        {
            prompts.Add(i % 2 == 0 ? Dirty(DirtyTemplates[i / 2 % DirtyTemplates.Length]) : Clean(CleanTemplates[i / 2 % CleanTemplates.Length]));
        }

        return prompts;
    }

    /// <summary>An opaque token for an HTTP Authorization header.</summary>
    public string HeaderToken() => Chars(Base64Url, 32);

    private CorpusPrompt Dirty(string template)
    {
        var secrets = new List<PlantedSecret>();
        var text = Fill(template, placeholder =>
        {
            (string Kind, string Value)? secret = placeholder switch
            {
                "email" => ("email", Email()),
                "card" => ("credit_card", Card()),
                "phone" => ("phone", Phone()),
                "ip" => ("ipv4", Ipv4()),
                "openai" => ("api_key", "sk-" + Chars(Alnum, 48)),
                "openai_project" => ("api_key", "sk-proj-" + Chars(Base64Url, 100)),
                "anthropic" => ("api_key", "sk-ant-api03-" + Chars(Base64Url, 80) + "AA"),
                "aws" => ("api_key", "AKIA" + Chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
                "github" => ("api_key", "ghp_" + Chars(Alnum, 36)),
                "github_pat" => ("api_key", "github_pat_" + Chars(Alnum, 22) + "_" + Chars(Alnum, 59)),
                "bearer" => ("bearer_token", Chars(Base64Url, 40)),
                "jwt" => ("jwt", Jwt()),
                "acme" => ("blocked_values", "ACME-" + Digits(6)),
                _ => null,
            };
            if (secret is not { } s)
            {
                return Pick(FirstNames) + " " + Pick(LastNames);
            }

            secrets.Add(new PlantedSecret(s.Kind, s.Value));
            return s.Value;
        });
        return new CorpusPrompt(text, secrets);
    }

    private CorpusPrompt Clean(string template) => new(
        Fill(template, placeholder => placeholder switch
        {
            "version" => $"v{_random.Next(1, 9)}.{_random.Next(0, 20)}.{_random.Next(0, 50)}",
            "build" => $"{_random.Next(1, 9)}.{_random.Next(0, 9)}.{_random.Next(0, 9)}.{_random.Next(0, 9)}.{_random.Next(0, 9)}",
            "id" => "1" + Digits(12),
            "date" => $"2024-{_random.Next(1, 13):00}-{_random.Next(1, 29):00}",
            "bad_card" => BadCard(),
            "n" => _random.Next(2, 9).ToString(CultureInfo.InvariantCulture),
            "epoch" => "17" + Digits(8),
            _ => throw new ArgumentException(placeholder),
        }),
        []);

    private static string Fill(string template, Func<string, string> value)
    {
        var output = new StringBuilder();
        var position = 0;
        for (var open = template.IndexOf('{', StringComparison.Ordinal); open >= 0; open = template.IndexOf('{', position))
        {
            var close = template.IndexOf('}', open);
            output.Append(template, position, open - position).Append(value(template[(open + 1)..close]));
            position = close + 1;
        }

        return output.Append(template, position, template.Length - position).ToString();
    }

    private string Email() =>
        _random.Next(3) switch
        {
            0 => $"{Pick(FirstNames)}.{Pick(LastNames)}@{Pick(Domains)}",
            1 => $"{Pick(FirstNames)}_{Pick(LastNames)}{_random.Next(10, 99)}@{Pick(Domains)}",
            _ => $"{Pick(FirstNames)}+billing@{Pick(Domains)}",
        };

    /// <summary>A Luhn-valid number of a real network's shape, in one of the usual layouts.</summary>
    private string Card()
    {
        var (prefix, length) = _random.Next(5) switch
        {
            0 => ("4", 16),
            1 => ("5" + _random.Next(1, 6), 16),
            2 => ("3" + (_random.Next(2) == 0 ? "4" : "7"), 15),
            3 => ("6011", 16),
            _ => ("2221", 16),
        };
        var body = prefix + Digits(length - prefix.Length - 1);
        var digits = body + LuhnCheckDigit(body);
        return length == 15
            ? $"{digits[..4]} {digits[4..10]} {digits[10..]}"
            : _random.Next(3) switch
            {
                0 => digits,
                1 => string.Join(' ', digits.Chunk(4).Select(c => new string(c))),
                _ => string.Join('-', digits.Chunk(4).Select(c => new string(c))),
            };
    }

    /// <summary>Card-shaped but with a wrong check digit.</summary>
    private string BadCard()
    {
        var body = "4" + Digits(14);
        var wrong = (char)('0' + ((LuhnCheckDigit(body) - '0' + 1 + _random.Next(9)) % 10));
        var digits = body + wrong;
        return string.Join(' ', digits.Chunk(4).Select(c => new string(c)));
    }

    private static char LuhnCheckDigit(string body)
    {
        var sum = 0;
        for (var i = 0; i < body.Length; i++)
        {
            var d = body[body.Length - 1 - i] - '0';
            if (i % 2 == 0)
            {
                d = d * 2 > 9 ? (d * 2) - 9 : d * 2;
            }

            sum += d;
        }

        return (char)('0' + ((10 - (sum % 10)) % 10));
    }

    private string Phone() =>
        _random.Next(6) switch
        {
            0 => $"+1 {_random.Next(200, 999)} 555 {Digits(4)}",
            1 => $"+44 20 {Digits(4)} {Digits(4)}",
            2 => "+49151" + Digits(8),
            3 => $"({_random.Next(200, 999)}) 555-{Digits(4)}",
            4 => $"{_random.Next(200, 999)}-555-{Digits(4)}",
            _ => $"020 {Digits(4)} {Digits(4)}",
        };

    private string Ipv4() =>
        _random.Next(3) switch
        {
            0 => $"10.{_random.Next(256)}.{_random.Next(256)}.{_random.Next(1, 255)}",
            1 => $"192.168.{_random.Next(256)}.{_random.Next(1, 255)}",
            _ => $"{_random.Next(11, 223)}.{_random.Next(256)}.{_random.Next(256)}.{_random.Next(1, 255)}",
        };

    private string Jwt()
    {
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes($$"""{"sub":"{{Digits(10)}}","name":"{{Pick(FirstNames)}}","iat":{{Digits(10)}}}"""))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + payload + "." + Chars(Base64Url, 43);
    }

    private string Digits(int count) => Chars("0123456789", count);

    private string Chars(string alphabet, int count)
    {
        var chars = new char[count];
        for (var i = 0; i < count; i++)
        {
            chars[i] = alphabet[_random.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private string Pick(string[] options) => options[_random.Next(options.Length)];
}
