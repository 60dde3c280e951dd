using System.Net;
using System.Net.Sockets;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Daemon;

/// <summary>
/// A new user's routine mistakes, against the real binary: a port in use or a certificate that
/// does not load stops the start with exit 1 and one line naming the config key, no stack trace;
/// <c>--config</c> on a directory and a tab in the YAML say what is wrong and where; <c>-c</c> is <c>--config</c>.
/// </summary>
[NonParallelizable]
public sealed class StartupErrorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("collector-startup-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    public enum Occupied
    {
        MetricsEndpoint,
        OtlpGrpc,
        OtlpHttp,
        HealthCheck,
    }

    [TestCase(Occupied.MetricsEndpoint, "service.telemetry.metrics.endpoint")]
    [TestCase(Occupied.OtlpGrpc, "receivers.otlp.protocols.grpc.endpoint")]
    [TestCase(Occupied.OtlpHttp, "receivers.otlp.protocols.http.endpoint")]
    [TestCase(Occupied.HealthCheck, "extensions.health_check.endpoint")]
    public async Task A_port_in_use_exits_1_with_one_line_naming_its_config_key_and_no_stack_trace(Occupied which, string key)
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        string Port(Occupied slot) => which == slot ? taken.ToString(System.Globalization.CultureInfo.InvariantCulture) : "0";
        var path = Write($$"""
            receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:{{Port(Occupied.OtlpGrpc)}}" }, http: { endpoint: "127.0.0.1:{{Port(Occupied.OtlpHttp)}}" } } } }
            exporters: { debug: {} }
            extensions: { health_check: { endpoint: "127.0.0.1:{{Port(Occupied.HealthCheck)}}" } }
            service:
              extensions: [health_check]
              telemetry: { logs: { format: text }, metrics: { endpoint: "127.0.0.1:{{Port(Occupied.MetricsEndpoint)}}" } }
              pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
            """);

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "--config", path);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1), output);
            Assert.That(
                output.Split('\n'),
                Has.One.Contains($" FTL service Collector failed to start: {key}: cannot listen on 127.0.0.1:{taken}: the address is already in use"),
                output);
            Assert.That(output, Does.Not.Contain("   at ").And.Not.Contain("Exception"), "no stack trace at info");
            Assert.That(output, Does.Not.Contain(" ERR "), "the host's own 'Hosting failed to start' is not repeated");
            Assert.That(output, Does.Not.Match(@"Z [A-Z]{3}  "), "every text line fills the component column");
        });
    }

    [Test]
    public async Task At_debug_level_the_start_failure_also_carries_its_stack_trace()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var path = Write($$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{taken}}" } } } }
            exporters: { debug: {} }
            service:
              telemetry: { logs: { level: debug, format: text }, metrics: { endpoint: "127.0.0.1:0" } }
              pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
            """);

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "--config", path);

        Assert.That(exit, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("AddressInUseException").And.Contain("   at "));
    }

    [Test]
    public async Task A_certificate_that_does_not_load_exits_1_naming_the_tls_keys()
    {
        var pem = Path.Combine(_dir, "not-a-certificate.pem");
        await File.WriteAllTextAsync(pem, "this is not PEM\n");
        var path = Write($$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0", tls: { cert_file: "{{pem}}", key_file: "{{pem}}" } } } } }
            exporters: { debug: {} }
            service:
              telemetry: { metrics: { endpoint: "127.0.0.1:0" } }
              pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
            """);

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "-c", path);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1), output);
            Assert.That(output.Split('\n'), Has.One.Contains($"receivers.otlp.protocols.http.tls.cert_file / key_file: cannot load '{pem}'"), output);
            Assert.That(output, Does.Not.Contain("   at "), "no stack trace at info");
        });
    }

    [Test]
    public async Task Config_on_a_directory_says_it_is_a_directory()
    {
        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "--config", _dir);

        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain($"{_dir}: is a directory; --config takes a YAML file"));
        Assert.That(output, Does.Not.Contain("denied"), "not a permission problem");
    }

    [Test]
    public async Task A_tab_in_the_indentation_reports_the_line_it_is_on()
    {
        var path = Write("receivers:\n  otlp:\n    protocols:\n\t    grpc: {}\nexporters: { debug: {} }\n");

        var (exit, output) = await CollectorProcess.RunAsync(Timeout, "validate", "-c", path);

        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("line 4: a tab in the indentation"));
    }

    [Test]
    public async Task Short_c_is_config_and_help_lists_it()
    {
        var path = Write("""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
            exporters: { debug: {} }
            service: { pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }
            """);

        var (validateExit, validate) = await CollectorProcess.RunAsync(Timeout, "validate", "-c", path);
        var (helpExit, help) = await CollectorProcess.RunAsync(Timeout, "--help");

        Assert.That(validateExit, Is.Zero, validate);
        Assert.That(validate, Does.Contain("configuration is valid"));
        Assert.That(helpExit, Is.Zero);
        Assert.That(help, Does.Contain("-c FILE"));
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, "collector.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
