using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Receiver.Otlp;

namespace Collector.Tests.Receiver;

public sealed class OtlpReceiverConfigTests
{
    [Test]
    public void Factory_describes_an_otlp_receiver_for_every_signal()
    {
        var factory = new OtlpReceiverFactory();

        Assert.That(factory.Type, Is.EqualTo("otlp"));
        Assert.That(factory.Kind, Is.EqualTo(ComponentKind.Receiver));
        Assert.That(Enum.GetValues<Signal>().All(factory.Metadata.Creates), Is.True);
        Assert.That(factory.CreateDefaultConfig(), Is.TypeOf<OtlpReceiverConfig>());
    }

    [Test]
    public void Protocol_sections_carry_the_collector_defaults()
    {
        var grpc = new OtlpReceiverConfig.GrpcConfig();
        var http = new OtlpReceiverConfig.HttpConfig();

        Assert.That(grpc.Endpoint, Is.EqualTo("localhost:4317"));
        Assert.That(grpc.MaxRecvMsgSizeMib, Is.EqualTo(16));
        Assert.That(http.Endpoint, Is.EqualTo("localhost:4318"));
        Assert.That(http.MaxRequestBodySizeMib, Is.EqualTo(20));
    }

    [Test]
    public void Default_config_without_protocols_is_an_error()
    {
        var errors = Validate((OtlpReceiverConfig)new OtlpReceiverFactory().CreateDefaultConfig());

        Assert.That(errors, Is.EqualTo(new[] { "protocols: at least one of grpc, http must be configured" }));
    }

    [Test]
    public void Both_protocols_with_defaults_are_valid()
    {
        var config = new OtlpReceiverConfig { Protocols = new() { Grpc = new(), Http = new() } };

        Assert.That(Validate(config), Is.Empty);
    }

    [Test]
    public void Every_problem_is_reported_with_its_path()
    {
        var config = new OtlpReceiverConfig
        {
            Protocols = new()
            {
                Grpc = new() { Endpoint = "not-an-endpoint", MaxRecvMsgSizeMib = 0, Tls = new() { CertFile = "/nonexistent/cert.pem" } },
                Http = new() { Endpoint = "collector.example.com:4318", MaxRequestBodySizeMib = 5000 },
            },
            Auth = new() { BearerTokens = ["good-token", "  ", "has space"] },
        };

        var errors = Validate(config);

        Assert.That(errors, Has.Some.StartsWith("protocols.grpc.endpoint: "));
        Assert.That(errors, Has.Some.StartsWith("protocols.grpc.max_recv_msg_size_mib: must be between 1 and 1024"));
        Assert.That(errors, Has.Some.EqualTo("protocols.grpc.tls.cert_file: file '/nonexistent/cert.pem' does not exist"));
        Assert.That(errors, Has.Some.EqualTo("protocols.grpc.tls.key_file: is required"));
        Assert.That(errors, Has.Some.StartsWith("protocols.http.endpoint: "));
        Assert.That(errors, Has.Some.StartsWith("protocols.http.max_request_body_size_mib: must be between 1 and 1024"));
        Assert.That(errors, Has.Some.EqualTo("auth.bearer_tokens: token #2 is empty or contains whitespace"));
        Assert.That(errors, Has.Some.EqualTo("auth.bearer_tokens: token #3 is empty or contains whitespace"));
        Assert.That(errors, Has.Count.EqualTo(8));
        Assert.That(errors.Where(e => e.Contains("good-token", StringComparison.Ordinal) || e.Contains("has space", StringComparison.Ordinal)), Is.Empty, "tokens are secrets");
    }

    [Test]
    public void Empty_auth_and_a_shared_endpoint_are_errors()
    {
        var config = new OtlpReceiverConfig
        {
            Protocols = new() { Grpc = new() { Endpoint = "0.0.0.0:4317" }, Http = new() { Endpoint = "0.0.0.0:4317" } },
            Auth = new(),
        };

        var errors = Validate(config);

        Assert.That(errors, Is.EquivalentTo(new[]
        {
            "protocols: grpc and http cannot share the endpoint '0.0.0.0:4317'",
            "auth.bearer_tokens: must list at least one token when auth is configured",
        }));
    }

    [Test]
    public void Existing_tls_files_are_accepted()
    {
        var dir = Directory.CreateTempSubdirectory("otlp-tls-config");
        try
        {
            var cert = Path.Combine(dir.FullName, "cert.pem");
            var key = Path.Combine(dir.FullName, "key.pem");
            File.WriteAllText(cert, "x");
            File.WriteAllText(key, "x");
            var config = new OtlpReceiverConfig { Protocols = new() { Http = new() { Tls = new() { CertFile = cert, KeyFile = key } } } };

            Assert.That(Validate(config), Is.Empty);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static IReadOnlyList<string> Validate(OtlpReceiverConfig config)
    {
        var errors = new ConfigErrors();
        ConfigBinder.Validate(config, errors);
        return errors.All;
    }
}
