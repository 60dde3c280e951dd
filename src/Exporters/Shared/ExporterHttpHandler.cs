using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Collector.Pipeline.Configuration.Common;

namespace Collector.Exporters.Shared;

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
