using Collector.Exporters.Shared;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Configuration.Common;
using Collector.Pipeline.Export;

namespace Collector.Exporters.Otlp;

/// <summary>exporters.otlp: OTLP over gRPC.</summary>
internal sealed class OtlpExporterConfig : ExporterConfigBase
{
    /// <summary>host:port (plaintext) or http(s)://host:port; required.</summary>
    public string Endpoint { get; set; } = string.Empty;

    public TlsClientConfig Tls { get; set; } = new();

    /// <summary>Sent as gRPC metadata with every call.</summary>
    [Secret]
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public OtlpCompression Compression { get; set; } = OtlpCompression.Gzip;

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        var https = false;
        if (string.IsNullOrWhiteSpace(Endpoint))
        {
            errors.Add("endpoint", "is required (host:port or http(s)://host:port)");
        }
        else if (!Pipeline.Configuration.Endpoint.TryParseTarget(Endpoint, defaultTls: false, out var uri))
        {
            errors.Add("endpoint", $"'{Endpoint}' is not host:port or an http(s):// URL");
        }
        else
        {
            https = uri.Scheme == Uri.UriSchemeHttps;
        }

        Tls.CheckScheme(https, errors.At("tls"));
        ExporterValidation.ValidateHeaders(Headers, errors, grpcMetadata: true);
        ExporterValidation.ValidateEnums(Compression, null, errors);
    }
}
