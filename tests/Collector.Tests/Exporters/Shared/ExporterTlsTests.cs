using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Collector.Exporters.Otlp;
using Collector.Exporters.OtlpHttp;
using Collector.Exporters.Shared;
using Collector.Pipeline.Configuration.Common;
using Collector.Pipeline;
using Collector.Tests.TestSupport;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using Serilog.Events;

namespace Collector.Tests.Exporters;

/// <summary>
/// The exporters' tls: settings over real TLS connections: Kestrel backends serve a server
/// certificate issued by a throwaway CA made here, and the exporters must trust it only when told to.
/// </summary>
public sealed class ExporterTlsTests : ExporterTestBase
{
    private const string Grpc = "otlp";
    private const string Http = "otlphttp";
    private const int MaxAttempts = 2;
    private const int SpanCount = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private DirectoryInfo _dir = null!;
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _otherCa = null!;
    private X509Certificate2 _server = null!;
    private X509Certificate2 _serverForOtherName = null!;
    private string _caFile = null!;
    private string _otherCaFile = null!;

    [OneTimeSetUp]
    public void CreateCertificates()
    {
        _dir = Directory.CreateTempSubdirectory("exporter-tls-");
        _ca = TestPki.CreateCa("CN=exporter-tls-test-ca");
        _otherCa = TestPki.CreateCa("CN=exporter-tls-other-ca");
        _server = TestPki.CreateServer(_ca, "localhost", IPAddress.Loopback);
        _serverForOtherName = TestPki.CreateServer(_ca, "elsewhere.invalid", ip: null);
        _caFile = TestPki.WritePem(_ca, Path.Combine(_dir.FullName, "ca.pem"));
        _otherCaFile = TestPki.WritePem(_otherCa, Path.Combine(_dir.FullName, "other-ca.pem"));
    }

    [OneTimeTearDown]
    public void DeleteCertificates()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        _server.Dispose();
        _serverForOtherName.Dispose();
        _dir.Delete(recursive: true);
    }

    [TestCase(Grpc)]
    [TestCase(Http)]
    public async Task Ca_file_of_the_issuing_ca_delivers(string exporter)
    {
        await AssertDeliversAsync(exporter, new TlsClientConfig { CaFile = _caFile }, "delivery over TLS");
        Assert.That(Kit.Retries, Is.Zero);
    }

    [TestCase(Grpc)]
    [TestCase(Http)]
    public async Task Insecure_skip_verify_delivers_to_an_untrusted_server(string exporter) =>
        await AssertDeliversAsync(exporter, new TlsClientConfig { InsecureSkipVerify = true }, "delivery with verification off");

    [TestCase(Grpc)]
    [TestCase(Http)]
    public async Task Untrusted_server_certificate_fails_and_is_counted(string exporter) =>
        await AssertCertificateRejectedAsync(exporter, new TlsClientConfig(), _server);

    [TestCase(Grpc)]
    [TestCase(Http)]
    public async Task Ca_file_of_a_different_ca_fails_and_is_counted(string exporter) =>
        await AssertCertificateRejectedAsync(exporter, new TlsClientConfig { CaFile = _otherCaFile }, _server);

    /// <summary>ca_file replaces the trust roots only: a certificate for another host name is still refused.</summary>
    [TestCase(Grpc)]
    [TestCase(Http)]
    public async Task Ca_file_still_checks_the_host_name(string exporter) =>
        await AssertCertificateRejectedAsync(exporter, new TlsClientConfig { CaFile = _caFile }, _serverForOtherName);

    /// <summary>The exporter delivers both spans to the HTTPS backend.</summary>
    private async Task AssertDeliversAsync(string exporter, TlsClientConfig tls, string what)
    {
        var (sink, received) = await StartAsync(exporter, tls, _server);

        await sink.ConsumeAsync(ExporterTestKit.Spans(SpanCount, "tls"), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Sent() == SpanCount, Deadline, what);
        Assert.That(received(), Is.EqualTo(new[] { "tls-0", "tls-1" }));
    }

    /// <summary>A refused handshake is a transport failure: retried, then dropped as retries_exhausted, and logged.</summary>
    private async Task AssertCertificateRejectedAsync(string exporter, TlsClientConfig tls, X509Certificate2 serverCertificate)
    {
        var (sink, received) = await StartAsync(exporter, tls, serverCertificate);

        await sink.ConsumeAsync(ExporterTestKit.Spans(SpanCount, "tls"), CancellationToken.None);

        await Poll.UntilAsync(() => Kit.Failed("retries_exhausted") == SpanCount, Deadline, "TLS failure counted");
        Assert.That(Kit.Retries, Is.EqualTo(MaxAttempts - 1));
        Assert.That(Kit.Sent(), Is.Zero);
        Assert.That(Kit.Failed("permanent"), Is.Zero);
        Assert.That(received(), Is.Empty, "nothing may reach the backend over an unverified connection");
        // The log must name the cause (AuthenticationException), not just "see inner exception".
        Assert.That(Kit.Logs.Rendered(LogEventLevel.Warning), Has.One.Contains("SSL connection could not be established").And.Contains("AuthenticationException"));
    }

    /// <summary>An HTTPS backend and a traces exporter pointed at it; the function lists the span names the backend received.</summary>
    private async Task<(IExporter<ResourceSpans> Exporter, Func<List<string>> Received)> StartAsync(
        string exporter, TlsClientConfig tls, X509Certificate2 serverCertificate)
    {
        if (exporter == Grpc)
        {
            var grpc = await GrpcBackendAsync(serverCertificate);
            var config = new OtlpExporterConfig { Endpoint = "https://" + grpc.Endpoint, Tls = tls };
            ExporterTestKit.FastRetry(config, MaxAttempts);
            var sink = await StartExporterAsync<ResourceSpans>(new OtlpExporterFactory(), config);
            return (sink, () => SpanNames(grpc.Calls.Select(c => (ExportTraceServiceRequest)c.Request)));
        }

        var http = await HttpBackendAsync(serverCertificate);
        Assert.That(http.BaseUrl, Does.StartWith("https://"));
        var httpConfig = new OtlpHttpExporterConfig { Endpoint = http.BaseUrl, Tls = tls };
        ExporterTestKit.FastRetry(httpConfig, MaxAttempts);
        var httpSink = await StartExporterAsync<ResourceSpans>(new OtlpHttpExporterFactory(), httpConfig);
        return (httpSink, () => SpanNames(http.Calls.Select(c => ExportTraceServiceRequest.Parser.ParseFrom(c.Body))));
    }

    private static List<string> SpanNames(IEnumerable<ExportTraceServiceRequest> requests) =>
        requests.SelectMany(r => r.ResourceSpans).SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => s.Name).ToList();
}

/// <summary>A throwaway CA and the server certificates it issues (ECDSA P-256, valid for a day).</summary>
internal static class TestPki
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    public static X509Certificate2 CreateCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
    }

    /// <summary>A server certificate for <paramref name="dnsName"/> (and <paramref name="ip"/> if given), with its private key.</summary>
    public static X509Certificate2 CreateServer(X509Certificate2 ca, string dnsName, IPAddress? ip)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        if (ip is not null)
        {
            san.AddIpAddress(ip);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(ca, now.AddMinutes(-30), now.AddHours(12), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        // Reloaded from PKCS#12 so that the key is not ephemeral (Windows' TLS stack refuses ephemeral keys).
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>Only the certificate, never the key, as the PEM file ca_file expects.</summary>
    public static string WritePem(X509Certificate2 certificate, string path)
    {
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }
}
