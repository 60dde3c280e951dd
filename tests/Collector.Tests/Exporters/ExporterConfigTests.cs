using Collector.Exporters.Debug;
using Collector.Exporters.Otlp;
using Collector.Exporters.OtlpHttp;
using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Collector.Pipeline.Export;

namespace Collector.Tests.Exporters;

public sealed class ExporterConfigTests
{
    private static IReadOnlyList<string> Errors(ComponentConfig config)
    {
        var errors = new ConfigErrors();
        ConfigBinder.Validate(config, errors);
        return errors.All;
    }

    [Test]
    public void Factories_have_their_type_names_and_support_every_signal()
    {
        IExporterFactory[] factories = [new OtlpExporterFactory(), new OtlpHttpExporterFactory(), new DebugExporterFactory()];
        Assert.That(factories.Select(f => f.Type), Is.EqualTo(new[] { "otlp", "otlphttp", "debug" }));
        foreach (var f in factories)
        {
            Assert.That(f.Kind, Is.EqualTo(ComponentKind.Exporter));
            Assert.That(Enum.GetValues<Signal>().All(f.Metadata.Creates), Is.True);
        }
    }

    [Test]
    public void Defaults_match_the_design()
    {
        var c = (OtlpHttpExporterConfig)new OtlpHttpExporterFactory().CreateDefaultConfig();
        Assert.That(c.Timeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(c.RetryOnFailure.Enabled, Is.True);
        Assert.That(c.RetryOnFailure.InitialInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(c.RetryOnFailure.Multiplier, Is.EqualTo(2.0));
        Assert.That(c.RetryOnFailure.MaxInterval, Is.EqualTo(TimeSpan.FromSeconds(30)));
        // Issue 14: unset (was 3): without a spool only max_elapsed_time (5m) ends retrying; with one, 3 attempts before the spool.
        Assert.That(c.RetryOnFailure.MaxAttempts, Is.Null);
        Assert.That(c.RetryOnFailure.AttemptLimit(spoolBehind: false), Is.Zero);
        Assert.That(c.RetryOnFailure.AttemptLimit(spoolBehind: true), Is.EqualTo(3));
        Assert.That(c.RetryOnFailure.MaxElapsedTime, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(c.SendingQueue.Enabled, Is.True);
        Assert.That(c.SendingQueue.Sizer, Is.EqualTo(QueueSizer.Requests));
        Assert.That(c.SendingQueue.QueueSize, Is.EqualTo(1000));
        Assert.That(c.SendingQueue.NumConsumers, Is.EqualTo(4));
        // Issue 14: a full queue pushes back at the door (was: dropped after the client was answered).
        Assert.That(c.SendingQueue.OnFull, Is.EqualTo(QueueOnFull.Reject));
        Assert.That(c.SendingQueue.Spool, Is.Null);
        Assert.That(c.Compression.ToString(), Is.EqualTo("Gzip"));
        Assert.That(c.Encoding.ToString(), Is.EqualTo("Proto"));
    }

    [Test]
    public void Default_configs_without_endpoint_report_it()
    {
        Assert.That(Errors(new OtlpExporterFactory().CreateDefaultConfig()), Is.EqualTo(new[] { "endpoint: is required (host:port or http(s)://host:port)" }));
        Assert.That(Errors(new OtlpHttpExporterFactory().CreateDefaultConfig()), Has.One.StartsWith("endpoint: is required"));
        Assert.That(Errors(new DebugExporterFactory().CreateDefaultConfig()), Is.Empty);
    }

    [Test]
    public void Every_problem_is_reported_with_its_path()
    {
        var c = new OtlpHttpExporterConfig { Endpoint = "not a url", LogsEndpoint = "ftp://x/logs", Timeout = TimeSpan.Zero };
        c.Headers["bad header"] = "v";
        c.Headers["x-token"] = "secret-value\n";
        c.RetryOnFailure.Multiplier = 0.5;
        c.RetryOnFailure.InitialInterval = TimeSpan.Zero;
        c.RetryOnFailure.RandomizationFactor = 2;
        c.SendingQueue.QueueSize = 0;
        c.SendingQueue.NumConsumers = 0;
        c.SendingQueue.OnFull = (QueueOnFull)9;
        c.SendingQueue.Spool = new SpoolConfig { MaxSizeMib = 0, Durability = (SpoolDurability)9, OnUnavailable = (SpoolOnUnavailable)9 };
        c.Tls.Insecure = true;

        var errors = Errors(c);

        Assert.That(errors, Is.SupersetOf(new[]
        {
            "timeout: must be positive",
            "retry_on_failure.initial_interval: must be positive",
            "retry_on_failure.multiplier: must be a finite number >= 1",
            "retry_on_failure.randomization_factor: must be between 0 and 1",
            "sending_queue.queue_size: must be >= 1",
            "sending_queue.num_consumers: must be >= 1",
            "sending_queue.on_full: must be reject or drop",
            "sending_queue.spool.directory: is required",
            "sending_queue.spool.max_size_mib: must be >= 1",
            "sending_queue.spool.durability: must be write_ahead or on_failure",
            "sending_queue.spool.on_unavailable: must be fail or degrade",
            "endpoint: 'not a url' is not an http(s):// URL or host:port",
            "logs_endpoint: 'ftp://x/logs' is not an http(s):// URL or host:port",
            "headers: 'bad header' is not a valid HTTP header name",
        }));
        Assert.That(errors, Has.One.StartsWith("headers: the value of 'x-token'"));
        Assert.That(string.Join('\n', errors), Does.Not.Contain("secret-value"), "header values never appear in errors");
    }

    [Test]
    public void Grpc_specific_checks()
    {
        var c = new OtlpExporterConfig { Endpoint = "https://backend:4317" };
        c.Tls.Insecure = true;
        c.Headers["grpc-timeout"] = "1";
        c.Headers[""] = "x";
        c.RetryOnFailure.MaxAttempts = 0;
        c.RetryOnFailure.MaxElapsedTime = TimeSpan.Zero;

        var errors = Errors(c);

        Assert.That(errors, Has.One.StartsWith("tls.insecure:"));
        Assert.That(errors, Has.One.StartsWith("headers: 'grpc-timeout'"));
        Assert.That(errors, Has.One.EqualTo("headers: a header name is empty"));
        Assert.That(errors, Has.One.StartsWith("retry_on_failure: max_attempts and max_elapsed_time are both 0"));
    }

    [Test]
    public void An_explicit_max_attempts_bounds_attempts_with_or_without_a_spool()
    {
        var retry = new RetryOnFailureConfig { MaxAttempts = 5 };
        Assert.That(retry.AttemptLimit(spoolBehind: false), Is.EqualTo(5));
        Assert.That(retry.AttemptLimit(spoolBehind: true), Is.EqualTo(5));
        retry.MaxAttempts = 0;
        Assert.That(retry.AttemptLimit(spoolBehind: true), Is.Zero, "0: max_elapsed_time only");
    }

    [Test]
    public void Unset_max_attempts_with_max_elapsed_time_0_is_refused_only_where_nothing_bounds_it()
    {
        const string Forever = "retry_on_failure: max_elapsed_time is 0 and max_attempts is unset without a spool";
        var c = new OtlpHttpExporterConfig { Endpoint = "http://collector:4318" };
        c.RetryOnFailure.MaxElapsedTime = TimeSpan.Zero;
        Assert.That(Errors(c), Has.One.StartsWith(Forever));

        c.SendingQueue.Enabled = false;
        Assert.That(Errors(c), Has.One.StartsWith(Forever), "the caller would retry forever too");

        c.SendingQueue.Enabled = true;
        c.SendingQueue.Spool = new SpoolConfig { Directory = "/tmp/spool" };
        Assert.That(Errors(c), Is.Empty, "with a spool unset means 3 attempts");

        c.SendingQueue.Spool = null;
        c.RetryOnFailure.MaxAttempts = 4;
        Assert.That(Errors(c), Is.Empty);

        c.RetryOnFailure.MaxAttempts = null;
        c.RetryOnFailure.Enabled = false;
        Assert.That(Errors(c), Is.Empty, "no retry at all");
    }

    [Test]
    public void Sizer_binds_from_yaml_and_a_byte_queue_under_one_mib_is_refused_with_the_unit()
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader("endpoint: http://collector:4318\nsending_queue: { sizer: bytes, queue_size: 256, on_full: drop }"));
        var c = new OtlpHttpExporterConfig();
        var bindErrors = new ConfigErrors();
        ConfigBinder.Bind(stream.Documents[0].RootNode, c, bindErrors);
        Assert.That(bindErrors.All, Is.Empty);
        Assert.That(c.SendingQueue.Sizer, Is.EqualTo(QueueSizer.Bytes));
        Assert.That(c.SendingQueue.OnFull, Is.EqualTo(QueueOnFull.Drop));

        Assert.That(Errors(c), Is.EqualTo(new[] { "sending_queue.queue_size: is in bytes with sizer: bytes and must be >= 1048576 (1 MiB), e.g. 268435456 for 256 MiB" }));
        c.SendingQueue.QueueSize = 256L << 20;
        Assert.That(Errors(c), Is.Empty);

        c.SendingQueue.Sizer = QueueSizer.Items;
        c.SendingQueue.QueueSize = 10;
        Assert.That(Errors(c), Is.Empty, "items: any count >= 1");

        c.SendingQueue.Sizer = QueueSizer.Requests;
        c.SendingQueue.QueueSize = 1L << 40;
        Assert.That(Errors(c), Has.One.StartsWith("sending_queue.queue_size: must be <="));

        c.SendingQueue.Sizer = (QueueSizer)7;
        c.SendingQueue.QueueSize = 10;
        Assert.That(Errors(c), Has.One.EqualTo("sending_queue.sizer: must be requests, items or bytes"));
    }

    [Test]
    public void Spool_needs_the_queue_and_a_valid_config()
    {
        var queue = new SendingQueueConfig { Enabled = false, Spool = new SpoolConfig { Directory = "/tmp/spool", Durability = SpoolDurability.OnFailure, OnFull = SpoolOnFull.DropOldest } };
        var errors = new ConfigErrors();
        queue.Validate(errors);
        Assert.That(errors.All, Is.EqualTo(new[] { "spool: needs sending_queue.enabled: true" }));

        var ok = new ConfigErrors();
        new SpoolConfig { Directory = "/tmp/spool" }.Validate(ok);
        Assert.That(ok.All, Is.Empty);
        Assert.That(new SpoolConfig().MaxSizeMib, Is.EqualTo(50));
        Assert.That(new SpoolConfig().OnUnavailable, Is.EqualTo(SpoolOnUnavailable.Fail), "durability asked for fails fast by default");
    }

    [Test]
    public void Host_port_endpoints_are_plaintext_and_paths_are_appended()
    {
        var c = new OtlpHttpExporterConfig { Endpoint = "collector:4318" };
        Assert.That(Errors(c), Is.Empty);
        Assert.That(c.SignalUrl(null, "v1/traces")!.ToString(), Is.EqualTo("http://collector:4318/v1/traces"));
        Assert.That(c.SignalUrl("https://other/x", "v1/traces")!.ToString(), Is.EqualTo("https://other/x"));
        Assert.That(Errors(new OtlpExporterConfig { Endpoint = "collector:4317" }), Is.Empty);
    }
}
