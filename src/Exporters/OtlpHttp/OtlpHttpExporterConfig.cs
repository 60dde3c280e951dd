using Collector.Exporters.Shared;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Configuration.Common;
using Collector.Pipeline.Export;

namespace Collector.Exporters.OtlpHttp;

/// <summary>exporters.otlphttp: OTLP over HTTP, protobuf or JSON.</summary>
internal sealed class OtlpHttpExporterConfig : ExporterConfigBase
{
    /// <summary>Base URL; /v1/traces, /v1/metrics, /v1/logs are appended to its path.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Full URL for traces, used as is (overrides endpoint).</summary>
    public string? TracesEndpoint { get; set; }

    public string? MetricsEndpoint { get; set; }

    public string? LogsEndpoint { get; set; }

    public OtlpEncoding Encoding { get; set; } = OtlpEncoding.Proto;

    public OtlpCompression Compression { get; set; } = OtlpCompression.Gzip;

    [Secret]
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public TlsClientConfig Tls { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        if (string.IsNullOrWhiteSpace(Endpoint) && string.IsNullOrWhiteSpace(TracesEndpoint)
            && string.IsNullOrWhiteSpace(MetricsEndpoint) && string.IsNullOrWhiteSpace(LogsEndpoint))
        {
            errors.Add("endpoint", "is required (or traces_endpoint / metrics_endpoint / logs_endpoint)");
        }

        var https = CheckUrl(Endpoint, "endpoint", errors)
            | CheckUrl(TracesEndpoint, "traces_endpoint", errors)
            | CheckUrl(MetricsEndpoint, "metrics_endpoint", errors)
            | CheckUrl(LogsEndpoint, "logs_endpoint", errors);
        Tls.CheckScheme(https, errors.At("tls"));
        ExporterValidation.ValidateHeaders(Headers, errors, grpcMetadata: false);
        ExporterValidation.ValidateEnums(Compression, Encoding, errors);
    }

    /// <summary>
    /// The URL for one signal: its own *_endpoint as is, else endpoint + "/v1/&lt;signal&gt;"
    /// (as the OpenTelemetry Collector does); null when neither is set.
    /// </summary>
    public Uri? SignalUrl(string? signalEndpoint, string path)
    {
        if (!string.IsNullOrWhiteSpace(signalEndpoint))
        {
            return Pipeline.Configuration.Endpoint.TryParseTarget(signalEndpoint, defaultTls: false, out var own) ? own : null;
        }

        if (!Pipeline.Configuration.Endpoint.TryParseTarget(Endpoint, defaultTls: false, out var baseUri))
        {
            return null;
        }

        var builder = new UriBuilder(baseUri) { Path = baseUri.AbsolutePath.TrimEnd('/') + "/" + path };
        return builder.Uri;
    }

    /// <summary>True when the URL is https; reports it when unparseable. Empty is fine (checked above).</summary>
    private static bool CheckUrl(string? value, string key, ConfigErrors errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (!Pipeline.Configuration.Endpoint.TryParseTarget(value, defaultTls: false, out var uri))
        {
            errors.Add(key, $"'{value}' is not an http(s):// URL or host:port");
            return false;
        }

        return uri.Scheme == Uri.UriSchemeHttps;
    }
}
