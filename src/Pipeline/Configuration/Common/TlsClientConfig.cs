namespace Collector.Pipeline.Configuration.Common;

/// <summary>
/// tls: for clients (exporters). The endpoint's scheme decides whether TLS is used (https:// yes;
/// http:// and host:port no); these keys only tune how the server certificate is checked.
/// </summary>
internal sealed class TlsClientConfig : IValidatable
{
    /// <summary>Accepted for OpenTelemetry Collector configs; plaintext already follows from an http:// or host:port endpoint.</summary>
    public bool Insecure { get; set; }

    /// <summary>PEM file of CA certificates trusted for the server certificate (instead of the system store).</summary>
    public string? CaFile { get; set; }

    /// <summary>Accept any server certificate. For tests only: it removes the protection TLS gives.</summary>
    public bool InsecureSkipVerify { get; set; }

    public void Validate(ConfigErrors errors)
    {
        if (!string.IsNullOrEmpty(CaFile) && !File.Exists(CaFile))
        {
            errors.Add("ca_file", $"file '{CaFile}' not found");
        }
    }

    /// <summary>The keys against the endpoints' schemes, which only the owning config knows.</summary>
    /// <param name="anyHttps">Whether at least one of the client's endpoints uses https://.</param>
    /// <param name="errors">At this node's path (<c>tls</c>).</param>
    public void CheckScheme(bool anyHttps, ConfigErrors errors)
    {
        if (Insecure && anyHttps)
        {
            errors.Add("insecure", "true contradicts the https:// endpoint (the scheme decides: use http:// for plaintext)");
        }

        if (!anyHttps && (!string.IsNullOrEmpty(CaFile) || InsecureSkipVerify))
        {
            errors.Add("ca_file and insecure_skip_verify apply only to https:// endpoints");
        }
    }
}
