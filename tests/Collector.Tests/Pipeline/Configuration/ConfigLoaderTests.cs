using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using static Collector.Tests.Configuration.ConfigTestHelper;

namespace Collector.Tests.Configuration;

public class ConfigLoaderTests
{
    [Test]
    public void Valid_file_binds_overrides_on_top_of_factory_defaults()
    {
        var config = LoadOk("""
            receivers:
              test_rx:
              test_rx/full:
                endpoint: 0.0.0.0:9999
                api_key: key-abc
                workers: 8
                max_bytes: 10000000000
                ratio: 0.25
                compress: false
                timeout: 1m30s
                linger: 250ms
                limit: null
                durability: write_ahead
                tags: [a, b]
                detectors:
                  - email
                  - phone
                names: [x, y, z]
                headers: { authorization: "Bearer t", x-tenant: acme }
                labels:
                  team: ai
                prices:
                  gpt-4o: { input: 2.5, output: 10 }
                retry: { max_attempts: 5 }
                grpc:
                key_header: x-langtrace-key
            processors:
              batchy:
            exporters:
              test_exp/backend:
                timeout: 2s
              logs_exp:
            extensions:
              test_ext:
            service:
              extensions: [test_ext]
              shutdown_timeout: 45s
              telemetry:
                logs: { level: debug, format: json }
                metrics: { endpoint: null, level: detailed }
              pipelines:
                traces:
                  receivers: [test_rx, test_rx/full]
                  processors: [batchy]
                  exporters: [test_exp/backend]
                logs/audit:
                  receivers: [test_rx]
                  exporters: [logs_exp]
                  queue_size: 8
                  submit_timeout: 500ms
            """);

        var plain = Get(config.Receivers, "test_rx");
        Assert.That(plain.Endpoint, Is.EqualTo("localhost:1234"));
        Assert.That(plain.Workers, Is.EqualTo(2));
        Assert.That(plain.Timeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(plain.Tags, Is.EqualTo(new[] { "default" }));
        Assert.That(plain.Limit, Is.EqualTo(7));
        Assert.That(plain.Grpc, Is.Null, "an absent nullable section stays null");

        var full = Get(config.Receivers, "test_rx/full");
        Assert.That(full.Endpoint, Is.EqualTo("0.0.0.0:9999"));
        Assert.That(full.ApiKey, Is.EqualTo("key-abc"));
        Assert.That(full.Workers, Is.EqualTo(8));
        Assert.That(full.MaxBytes, Is.EqualTo(10_000_000_000L));
        Assert.That(full.Ratio, Is.EqualTo(0.25));
        Assert.That(full.Compress, Is.False);
        Assert.That(full.Timeout, Is.EqualTo(TimeSpan.FromSeconds(90)));
        Assert.That(full.Linger, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
        Assert.That(full.Limit, Is.Null);
        Assert.That(full.Durability, Is.EqualTo(TestDurability.WriteAhead));
        Assert.That(full.Tags, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(full.Detectors, Is.EqualTo(new[] { "email", "phone" }));
        Assert.That(full.Names, Is.EqualTo(new[] { "x", "y", "z" }));
        Assert.That(full.Headers, Is.EqualTo(new Dictionary<string, string> { ["authorization"] = "Bearer t", ["x-tenant"] = "acme" }));
        Assert.That(full.Labels["team"], Is.EqualTo("ai"));
        Assert.That(full.Prices["gpt-4o"].Input, Is.EqualTo(2.5));
        Assert.That(full.Prices["gpt-4o"].Output, Is.EqualTo(10));
        Assert.That(full.Retry.MaxAttempts, Is.EqualTo(5));
        Assert.That(full.Retry.Enabled, Is.True, "unset nested keys keep their defaults");
        Assert.That(full.Retry.InitialInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(full.Grpc, Is.Not.Null, "'grpc:' with no value switches the section on");
        Assert.That(full.Grpc!.Endpoint, Is.EqualTo("localhost:4317"));
        Assert.That(full.ApiKeyHeaderName, Is.EqualTo("x-langtrace-key"));

        Assert.That(config.Processors.Keys, Is.EqualTo(new[] { new ComponentId("batchy", "") }));
        Assert.That(Get(config.Exporters, "test_exp/backend").Timeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(config.Extensions.Keys, Is.EqualTo(new[] { new ComponentId("test_ext", "") }));

        var service = config.Service;
        Assert.That(service.Extensions, Is.EqualTo(new[] { new ComponentId("test_ext", "") }));
        Assert.That(service.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(45)));
        Assert.That(service.Telemetry.LogLevel, Is.EqualTo("debug"));
        Assert.That(service.Telemetry.LogFormat, Is.EqualTo("json"));
        Assert.That(service.Telemetry.MetricsEndpoint, Is.Null);
        Assert.That(service.Telemetry.MetricsLevel, Is.EqualTo("detailed"));

        var traces = service.Pipelines[new PipelineId(Signal.Traces, "")];
        Assert.That(traces.Receivers, Is.EqualTo(new[] { new ComponentId("test_rx", ""), new ComponentId("test_rx", "full") }));
        Assert.That(traces.Processors, Is.EqualTo(new[] { new ComponentId("batchy", "") }));
        Assert.That(traces.Exporters, Is.EqualTo(new[] { new ComponentId("test_exp", "backend") }));
        Assert.That(traces.QueueSize, Is.EqualTo(64));
        Assert.That(traces.SubmitTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)));

        var audit = service.Pipelines[new PipelineId(Signal.Logs, "audit")];
        Assert.That(audit.QueueSize, Is.EqualTo(8));
        Assert.That(audit.SubmitTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        Assert.That(audit.Exporters, Is.EqualTo(new[] { new ComponentId("logs_exp", "") }));
    }

    [Test]
    public void Service_defaults_apply_when_not_written()
    {
        var config = LoadOk(MinimalPipelines);

        Assert.That(config.Service.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(config.Service.Extensions, Is.Empty);
        Assert.That(config.Service.Telemetry.LogLevel, Is.EqualTo("info"));
        Assert.That(config.Service.Telemetry.LogFormat, Is.EqualTo("text"));
        Assert.That(config.Service.Telemetry.MetricsEndpoint, Is.EqualTo("localhost:8888"));
        Assert.That(config.Service.Telemetry.MetricsLevel, Is.EqualTo("normal"));
        Assert.That(config.Processors, Is.Empty);
        Assert.That(config.Extensions, Is.Empty);
    }

    [TestCase("connectors: {}")]
    [TestCase("connectors:")]
    public void Unused_components_and_an_empty_connectors_section_are_accepted(string connectors)
    {
        var config = LoadOk(MinimalPipelines + "\nprocessors:\n  batchy/unused:\n" + connectors + "\n");

        Assert.That(config.Processors.ContainsKey(new ComponentId("batchy", "unused")), Is.True);
    }

    [Test]
    public void Many_errors_are_all_reported_with_their_paths_in_document_order()
    {
        var errors = LoadErrors("""
            receivers:
              test_rx:
                workers: abc
                timout: 5s
              nope/x:
                anything: 1
              logs_rx:
            processors:
              test_proc:
                tags: { a: b }
                retry: 5
            exporters:
              test_exp/backend:
                timeout: 30
                durability: sometimes
                compress: yes
                names: [a, [b]]
                workers: 0
              logs_exp:
                endpoint: { host: x }
            connectors:
              llm_metrics:
            extenssions: {}
            service:
              extensions: [test_ext]
              telemetry:
                logs: { level: verbose }
              pipelines:
                traces:
                  receivers: [test_rx, logs_rx]
                  processors: [test_proc, test_proc]
                  exporters: [otlp/x]
                spans:
                  receivers: [test_rx]
                  exporters: [test_exp/backend]
                logs:
                  receivers: []
                  exporters: [test_exp/backend]
                  queue_size: 0
                  submit_timeout: 0s
            """);

        Assert.That(errors, Is.EqualTo(new[]
        {
            "receivers.test_rx.workers: 'abc' is not an integer",
            "receivers.test_rx.timout: unknown key 'timout' (did you mean 'timeout'?)",
            "receivers.nope/x: unknown receiver type 'nope' (known: logs_rx, test_rx)",
            "processors.test_proc.tags: expected a list, got a mapping",
            "processors.test_proc.retry: expected a mapping, got '5'",
            "exporters.test_exp/backend.timeout: '30' is not a duration: a unit is required (e.g. 5s, 500ms)",
            "exporters.test_exp/backend.durability: 'sometimes' is not one of: on_failure, write_ahead",
            "exporters.test_exp/backend.compress: 'yes' is not a boolean (true or false)",
            "exporters.test_exp/backend.names[1]: expected a string, got a list",
            "exporters.test_exp/backend.workers: must be at least 1",
            "exporters.logs_exp.endpoint: expected a string, got a mapping",
            "connectors: connectors are not supported yet",
            "extenssions: unknown key 'extenssions' (did you mean 'extensions'?)",
            "service.telemetry.logs.level: 'verbose' is not one of: debug, info, warn, error",
            "service.extensions[0]: extension 'test_ext' is not defined",
            "service.pipelines.traces.receivers[1]: receiver 'logs_rx' does not support traces",
            "service.pipelines.traces.processors[1]: processor 'test_proc' is listed more than once",
            "service.pipelines.traces.exporters[0]: exporter 'otlp/x' is not defined",
            "service.pipelines.spans: 'spans' is not a valid pipeline id: expected traces, metrics or logs, optionally followed by /name",
            "service.pipelines.logs.receivers: at least one receiver is required",
            "service.pipelines.logs.exporters[0]: exporter 'test_exp/backend' does not support logs",
            "service.pipelines.logs.queue_size: must be at least 1",
            "service.pipelines.logs.submit_timeout: must be greater than 0",
        }));
    }

    [Test]
    public void Validate_errors_of_nested_sections_carry_the_full_path()
    {
        var errors = LoadErrors(MinimalPipelines.Replace("  test_rx:\n", "  test_rx:\n    grpc: { max_recv_msg_size_mib: 0 }\n", StringComparison.Ordinal));

        Assert.That(errors, Is.EqualTo(new[] { "receivers.test_rx.grpc.max_recv_msg_size_mib: must be at least 1" }));
    }

    [Test]
    public void The_loader_validates_map_elements_and_nested_sections_without_the_parent_calling_them()
    {
        var errors = LoadErrors(MinimalPipelines.Replace(
            "  test_rx:\n",
            "  test_rx:\n    workers: 0\n    grpc: { max_recv_msg_size_mib: 0 }\n    prices: { gpt: { input: -1 }, free: { input: 0 } }\n",
            StringComparison.Ordinal));

        Assert.That(errors, Is.EqualTo(new[]
        {
            "receivers.test_rx.workers: must be at least 1",
            "receivers.test_rx.prices.gpt.input: must not be negative",
            "receivers.test_rx.grpc.max_recv_msg_size_mib: must be at least 1",
        }));
    }

    [Test]
    public void Unknown_type_lists_the_known_types_of_that_kind()
    {
        var errors = LoadErrors(MinimalPipelines + """

            processors:
              batch/fast:
            """);

        Assert.That(errors, Is.EqualTo(new[] { "processors.batch/fast: unknown processor type 'batch' (known: batchy, test_proc)" }));
    }

    [Test]
    public void A_pipeline_using_an_unknown_type_reports_the_type_once_not_again_as_undefined()
    {
        var errors = LoadErrors("""
            receivers:
              test_rx:
            exporters:
              otlp:
            service:
              pipelines:
                traces: { receivers: [test_rx], exporters: [otlp] }
            """);

        Assert.That(errors, Is.EqualTo(new[] { "exporters.otlp: unknown exporter type 'otlp' (known: logs_exp, test_exp)" }));
    }

    [TestCase("not_a_section: 1", "not_a_section: unknown key 'not_a_section'")]
    [TestCase("servce: {}", "servce: unknown key 'servce' (did you mean 'service'?)")]
    [TestCase("processors: [batchy]", "processors: expected a mapping of processor ids to their settings, got a list")]
    [TestCase("processors: { 'bad id': }", "processors.bad id: 'bad id' is not a valid processor id (expected type or type/name)")]
    [TestCase("processors: { 'batchy/': }", "processors.batchy/: 'batchy/' is not a valid processor id (expected type or type/name)")]
    public void Top_level_and_section_shape_errors(string extra, string expected)
    {
        Assert.That(LoadErrors(extra + "\n" + MinimalPipelines), Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void Service_needs_at_least_one_pipeline()
    {
        Assert.That(LoadErrors("receivers: { test_rx: }\nservice:\n  extensions: []\n"), Is.EqualTo(new[] { "service.pipelines: at least one pipeline is required" }));
        Assert.That(LoadErrors("receivers: { test_rx: }\n"), Is.EqualTo(new[] { "service.pipelines: at least one pipeline is required" }));
    }

    [Test]
    public void Pipeline_without_exporters_and_with_an_unknown_key_is_rejected()
    {
        var errors = LoadErrors("""
            receivers: { test_rx: }
            service:
              pipelines:
                metrics/x:
                  receivers: [test_rx]
                  exporter: [test_exp]
            """);

        Assert.That(errors, Is.EqualTo(new[]
        {
            "service.pipelines.metrics/x.exporter: unknown key 'exporter' (did you mean 'exporters'?)",
            "service.pipelines.metrics/x.exporters: at least one exporter is required",
        }));
    }

    [Test]
    public void Service_telemetry_and_extension_errors()
    {
        var errors = LoadErrors(MinimalPipelines + """

              extensions: [test_ext, 'bad id']
              shutdown_timeout: 0s
              telemetry:
                logs: { format: xml, colour: true }
                metrics: { endpoint: nowhere }
                traces: {}
            """);

        Assert.That(errors, Is.EqualTo(new[]
        {
            "service.extensions[1]: 'bad id' is not a component id (type or type/name)",
            "service.telemetry.logs.format: 'xml' is not one of: json, text",
            "service.telemetry.logs.colour: unknown key 'colour'",
            "service.telemetry.traces: unknown key 'traces'",
            "service.shutdown_timeout: must be greater than 0",
            "service.telemetry.metrics.endpoint: 'nowhere' is not a valid endpoint (expected host:port)",
        }));
    }

    [Test]
    public void Component_section_given_as_a_scalar_is_a_type_error()
    {
        var errors = LoadErrors(MinimalPipelines.Replace("  test_exp:", "  test_exp: fast", StringComparison.Ordinal));

        Assert.That(errors, Is.EqualTo(new[] { "exporters.test_exp: expected a mapping, got 'fast'" }));
    }

    [Test]
    public void Yaml_syntax_error_reports_line_and_column_without_throwing()
    {
        var errors = LoadErrors("""
            receivers:
              test_rx:
                endpoint: x
               workers: 1
            """);

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Is.EqualTo("line 4, column 4: While parsing a block mapping, did not find expected key."));
    }

    [Test]
    public void Unclosed_flow_sequence_is_a_syntax_error_with_a_line()
    {
        var errors = LoadErrors("receivers: [a, b\nservice: {}\n");

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Is.EqualTo("line 2, column 1: invalid YAML here (check for an unclosed bracket or quote)"));
    }

    [Test]
    public void Duplicate_keys_are_a_syntax_error()
    {
        var errors = LoadErrors("receivers:\n  test_rx:\n  test_rx:\n");

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Is.EqualTo("line 3, column 3: Duplicate key test_rx"));
    }

    [TestCase("")]
    [TestCase("# nothing but a comment\n")]
    public void Empty_file_is_an_error(string yaml)
    {
        Assert.That(LoadErrors(yaml), Is.EqualTo(new[] { "the configuration is empty" }));
    }

    [Test]
    public void Root_must_be_a_mapping_and_a_single_document()
    {
        Assert.That(LoadErrors("- a\n- b\n")[0], Does.StartWith("the configuration must be a mapping"));
        Assert.That(LoadErrors(MinimalPipelines + "\n---\nreceivers: {}\n"), Is.EqualTo(new[] { "line 9: only one YAML document is allowed" }));
    }

    [Test]
    public void LoadFile_reads_a_real_file_and_reports_a_missing_one()
    {
        var dir = Directory.CreateTempSubdirectory("collector-config-");
        try
        {
            var path = Path.Combine(dir.FullName, "collector.yaml");
            File.WriteAllText(path, MinimalPipelines);
            var ok = ConfigLoader.LoadFile(path, TestRegistry.Create());
            Assert.That(ok.Errors, Is.Empty);
            Assert.That(ok.Config!.Receivers, Has.Count.EqualTo(1));

            var missing = ConfigLoader.LoadFile(Path.Combine(dir.FullName, "absent.yaml"), TestRegistry.Create());
            Assert.That(missing.Ok, Is.False);
            Assert.That(missing.Errors, Has.Count.EqualTo(1));
            Assert.That(missing.Errors[0], Does.StartWith("cannot read config file"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void Service_memory_limit_is_on_by_default_with_memory_limiters_percentages()
    {
        var limit = LoadOk(MinimalPipelines).Service.MemoryLimit;

        Assert.Multiple(() =>
        {
            Assert.That(limit.Enabled, Is.True);
            Assert.That(limit.LimitPercentage, Is.EqualTo(80));
            Assert.That(limit.SpikeLimitPercentage, Is.EqualTo(20));
            Assert.That(limit.LimitMib, Is.Zero);
            Assert.That(limit.CheckInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
        });
    }

    [Test]
    public void Service_memory_limit_binds_its_keys()
    {
        var limit = LoadOk(MinimalPipelines + "\n  memory_limit: { enabled: false, check_interval: 250ms, limit_percentage: 70, spike_limit_percentage: 15 }\n").Service.MemoryLimit;

        Assert.That((limit.Enabled, limit.CheckInterval, limit.LimitPercentage, limit.SpikeLimitPercentage), Is.EqualTo((false, TimeSpan.FromMilliseconds(250), 70, 15)));
    }

    [Test]
    public void Service_memory_limit_errors_carry_their_path()
    {
        var errors = LoadErrors(MinimalPipelines + "\n  memory_limit: { limit_percentage: 0, check_interval: 0s, limt_mib: 5 }\n");

        Assert.That(errors, Has.Some.StartsWith("service.memory_limit.limt_mib: unknown key"));
        Assert.That(errors, Has.Some.StartsWith("service.memory_limit.limit_percentage: must be in 1..100"));
        Assert.That(errors, Has.Some.StartsWith("service.memory_limit.check_interval: must be > 0"));
    }
}
