using System.Security.Cryptography.X509Certificates;
using Collector.Pipeline.Configuration.Common;

namespace Collector.Receiver.Hosting;

/// <summary>One server a receiver runs: what it serves and the certificate it presents (none: plaintext).</summary>
internal readonly record struct ServerSpec(HttpServerOptions Options, TlsServerConfig? Tls);

/// <summary>
/// The Kestrel servers of one receiver and the certificates they present: started all or none,
/// stopped together with their certificates disposed. Stopping is safe before start and twice.
/// </summary>
internal sealed class ServerSet(string receiver)
{
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly List<HttpServerHost> _servers = [];
    private readonly List<X509Certificate2> _certificates = [];

    /// <summary>Starts every server in order; returns them in the same order (their bound ports).</summary>
    public async Task<IReadOnlyList<HttpServerHost>> StartAsync(IReadOnlyList<ServerSpec> servers, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_servers.Count > 0)
            {
                throw new InvalidOperationException($"the {receiver} receiver is already started");
            }

            try
            {
                foreach (var (options, tls) in servers)
                {
                    var certificate = tls is null ? null : LoadCertificate(options.ConfigPath, tls);
                    if (certificate is not null)
                    {
                        _certificates.Add(certificate);
                    }

                    _servers.Add(await HttpServerHost.StartAsync(options with { Certificate = certificate }, cancellationToken).ConfigureAwait(false));
                }
            }
            catch
            {
                await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            return [.. _servers];
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Validate checks that the files exist; what only loading finds (not PEM, key does not match) names the keys here.</summary>
    private static X509Certificate2 LoadCertificate(string configPath, TlsServerConfig tls)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ServerStartException($"{configPath}.tls.cert_file / key_file: cannot load '{tls.CertFile}' with '{tls.KeyFile}': {e.Message}", e);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        HttpServerHost[] servers = [.. _servers];
        _servers.Clear();
        try
        {
            foreach (var server in servers)
            {
                await server.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var certificate in _certificates)
            {
                certificate.Dispose();
            }

            _certificates.Clear();
        }
    }
}
