using Collector.Pipeline.Configuration;
using Collector.Pipeline.Configuration.Common;

namespace Collector.Receiver.Langtrace;

/// <summary>Config of the <c>langtrace</c> receiver: Langtrace's <c>POST /api/trace</c> on its own endpoint.</summary>
internal sealed class LangtraceReceiverConfig : ComponentConfig
{
    /// <summary>Listen address; Langtrace's own server listens on 3000.</summary>
    public string Endpoint { get; set; } = "localhost:3000";

    /// <summary>Accepted <c>x-api-key</c> values; empty: any key or none is accepted.</summary>
    [Secret]
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>Largest accepted body after decompression (and on the wire).</summary>
    public int MaxRequestBodySizeMib { get; set; } = 20;

    public TlsServerConfig? Tls { get; set; }

    /// <summary>Slowest body accepted (408 below it).</summary>
    public Hosting.MinBodyRateConfig MinBodyRate { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        Pipeline.Configuration.Endpoint.ValidateListen(Endpoint, errors.At("endpoint"));
        SizeLimit.ValidateMib(MaxRequestBodySizeMib, errors.At("max_request_body_size_mib"));
        MinBodyRate.Validate(errors.At("min_body_rate"));

        for (var i = 0; i < ApiKeys.Count; i++)
        {
            // The index, never the value: keys are secrets.
            if (string.IsNullOrWhiteSpace(ApiKeys[i]) || ApiKeys[i].AsSpan().ContainsAny(" \t\r\n"))
            {
                errors.Add("api_keys", $"key #{i + 1} is empty or contains whitespace");
            }
        }
    }
}
