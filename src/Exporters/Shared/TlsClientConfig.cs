using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Collector.Pipeline.Configuration;

namespace Collector.Exporters.Shared;

/// <summary>
/// tls: for exporters. The endpoint's scheme decides whether TLS is used (https:// yes;
/// http:// and host:port no); these keys only tune how the server certificate is checked.
/// </summary>
internal sealed class TlsClientConfig
{
    /// <summary>Accepted for OpenTelemetry Collector configs; plaintext already follows from an http:// or host:port endpoint.</summary>
    public bool Insecure { get; set; }

    /// <summary>PEM file of CA certificates trusted for the server certificate (instead of the system store).</summary>
    public string? CaFile { get; set; }

    /// <summary>Accept any server certificate. For tests only: it removes the protection TLS gives.</summary>
    public bool InsecureSkipVerify { get; set; }

    /// <param name="anyHttps">Whether at least one of the exporter's endpoints uses https://.</param>
    public void Validate(ConfigErrors errors, bool anyHttps)
    {
        if (Insecure && anyHttps)
        {
            errors.Add("insecure", "true contradicts the https:// endpoint (the scheme decides: use http:// for plaintext)");
        }

        if (!string.IsNullOrEmpty(CaFile) && !File.Exists(CaFile))
        {
            errors.Add("ca_file", $"file '{CaFile}' not found");
        }

        if (!anyHttps && (!string.IsNullOrEmpty(CaFile) || InsecureSkipVerify))
        {
            errors.Add("ca_file and insecure_skip_verify apply only to https:// endpoints");
        }
    }
}

/// <summary>The one HTTP handler setup shared by the HTTP and gRPC exporters.</summary>
internal static class ExporterHttpHandler
{
    public static SocketsHttpHandler Create(TlsClientConfig tls)
    {
        var handler = new SocketsHttpHandler
        {
            // Recycle connections so that DNS changes (a backend behind a rotating address) are picked up.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };

        if (tls.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // Explicitly configured by the operator (insecure_skip_verify), documented as test-only.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (!string.IsNullOrEmpty(tls.CaFile))
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tls.CaFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => IsTrusted(certificate, errors, roots);
        }

        return handler;
    }

    /// <summary>Chain to the configured CAs; the host name must still match.</summary>
    private static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
