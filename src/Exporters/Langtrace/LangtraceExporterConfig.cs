using Collector.Pipeline.Configuration.Common;
using System.Net;
using Collector.Exporters.Shared;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Export;

namespace Collector.Exporters.Langtrace;

/// <summary>exporters.langtrace: traces to Langtrace's <c>POST /api/trace</c> in the form its ingestion keeps.</summary>
internal sealed class LangtraceExporterConfig : ExporterConfigBase
{
    public const string DefaultEndpoint = "https://app.langtrace.ai/api/trace";

    public const string ApiKeyHeader = "x-api-key";

    /// <summary>Upper bound for batch_size: larger requests only make one failure cost more.</summary>
    internal const int MaxBatchSize = 10_000;

    /// <summary>Full URL of the ingestion route, used as is.</summary>
    public string Endpoint { get; set; } = DefaultEndpoint;

    /// <summary>Sent as <c>x-api-key</c>; normally <c>${env:LANGTRACE_API_KEY}</c>. Never logged.</summary>
    [Secret]
    public string? ApiKey { get; set; }

    /// <summary>Extra request headers (a proxy's auth, a tenant); values never logged.</summary>
    [Secret]
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>Spans per request: a (resource, scope) group is sent when it holds this many.</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>A group holding fewer than batch_size spans is sent at the latest this long after its first span arrived.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Resource attributes copied onto every span that lacks the key: Langtrace stores spans only,
    /// never the resource, so without this the service name would be lost there.
    /// </summary>
    public List<string> CopyResourceAttributes { get; set; } = ["service.name"];

    public TlsClientConfig Tls { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        var local = false;
        if (!Pipeline.Configuration.Endpoint.TryParseTarget(Endpoint, defaultTls: true, out var uri))
        {
            errors.Add("endpoint", $"'{Endpoint}' is not an http(s):// URL");
        }
        else
        {
            local = IsLocal(uri);
            Tls.CheckScheme(uri.Scheme == Uri.UriSchemeHttps, errors.At("tls"));
        }

        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            if (!local)
            {
                errors.Add("api_key", "is required for a non-local endpoint (set it to ${env:LANGTRACE_API_KEY})");
            }
        }
        else if (ApiKey.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            errors.Add("api_key", "contains a line break");
        }

        ExporterValidation.ValidateHeaders(Headers, errors, grpcMetadata: false);
        foreach (var name in Headers.Keys)
        {
            // The binder's dictionary compares keys by case, HTTP header names do not.
            if (name.Equals(ApiKeyHeader, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add("headers", $"'{name}' is set from api_key; do not set it in headers");
            }
        }

        if (BatchSize is < 1 or > MaxBatchSize)
        {
            errors.Add("batch_size", $"must be between 1 and {MaxBatchSize}, got {BatchSize}");
        }

        if (FlushInterval <= TimeSpan.Zero)
        {
            errors.Add("flush_interval", "must be positive");
        }

        for (var i = 0; i < CopyResourceAttributes.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(CopyResourceAttributes[i]))
            {
                errors.Add("copy_resource_attributes", $"entry #{i + 1} is empty");
            }
        }
    }

    /// <summary>A self-hosted Langtrace on this machine may run without keys; anything else needs one.</summary>
    private static bool IsLocal(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
