using System.Net;
using System.Net.Http.Headers;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Secrets;
using Collector.Processors.Redaction;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.Tests.Redaction;

/// <summary>Shared helpers of the redaction tests.</summary>
internal static class RedactionTestKit
{
    public static readonly RedactionDetector[] AllDetectors = Enum.GetValues<RedactionDetector>();

    /// <summary>YAML list of every detector, for collector configs.</summary>
    public const string AllDetectorsYaml = "[email, credit_card, phone, ipv4, api_key, bearer_token, jwt]";

    /// <summary>A redactor with every detector on, after <paramref name="configure"/>; the config must be valid.</summary>
    public static Redactor NewRedactor(Action<RedactionConfig>? configure = null)
    {
        var config = new RedactionConfig { Detectors = [.. AllDetectors] };
        configure?.Invoke(config);
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.That(errors.All, Is.Empty, "test config must be valid");
        return new Redactor(config);
    }

    /// <summary>The text after redaction (the same instance when nothing changed).</summary>
    public static string Apply(this Redactor redactor, string text) => redactor.Apply(text, out _);

    public static string Apply(this Redactor redactor, string text, out int masked)
    {
        var tally = RedactionTally.Current;
        tally.Reset();
        masked = 0;
        var result = redactor.RedactString(text, tally, ref masked) ?? text;
        tally.Reset();
        return result;
    }

    public static KeyValue Attr(string key, AnyValue value) => new() { Key = key, Value = value };

    public static AnyValue Str(string value) => new() { StringValue = value };

    public static AnyValue Array(params AnyValue[] values)
    {
        var array = new ArrayValue();
        array.Values.Add(values);
        return new AnyValue { ArrayValue = array };
    }

    public static AnyValue Kvlist(params KeyValue[] entries)
    {
        var list = new KeyValueList();
        list.Values.Add(entries);
        return new AnyValue { KvlistValue = list };
    }

    /// <summary>POSTs an OTLP protobuf request to a collector's otlp receiver and expects 200.</summary>
    public static async Task PostAsync(int port, string path, IMessage request)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var reply = await client.PostAsync(new Uri($"http://127.0.0.1:{port}{path}"), content);
        Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"POST {path}");
    }
}
