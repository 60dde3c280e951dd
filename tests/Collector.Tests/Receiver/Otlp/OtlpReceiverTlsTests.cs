using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.Tests.Receiver;

public sealed class OtlpReceiverTlsTests
{
    [Test]
    public async Task Both_protocols_serve_tls_from_pem_files()
    {
        var dir = Directory.CreateTempSubdirectory("otlp-tls");
        try
        {
            var (certFile, keyFile) = WriteSelfSignedPem(dir.FullName);
            var config = ReceiverHarness.DefaultConfig();
            config.Protocols.Grpc!.Tls = new() { CertFile = certFile, KeyFile = keyFile };
            config.Protocols.Http!.Tls = new() { CertFile = certFile, KeyFile = keyFile };
            await using var h = await ReceiverHarness.StartAsync(config);
            using var http = new HttpClient(TrustingHandler());

            using var reply = await http.PostAsync(
                new Uri($"https://127.0.0.1:{h.Receiver.HttpPort}/v1/traces"),
                ReceiverHarness.Content(OtlpSamples.Traces(1).ToByteArray(), "application/x-protobuf"));
            using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{h.Receiver.GrpcPort}", new GrpcChannelOptions { HttpHandler = TrustingHandler() });
            await new TraceService.TraceServiceClient(channel).ExportAsync(OtlpSamples.Traces(2));

            Assert.That(reply.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(h.Traces.Batches.Select(b => b.ItemCount), Is.EqualTo(new[] { 1, 2 }));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static SocketsHttpHandler TrustingHandler()
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=otlp-test";
        return handler;
    }

    private static (string CertFile, string KeyFile) WriteSelfSignedPem(string dir)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=otlp-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        var certFile = Path.Combine(dir, "cert.pem");
        var keyFile = Path.Combine(dir, "key.pem");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}
