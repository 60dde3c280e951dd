using Collector.Pipeline.Configuration;
using YamlDotNet.RepresentationModel;

namespace Collector.Tests.Configuration;

public class ConfigBinderTests
{
    [TestCase("MaxRecvMsgSizeMib", "max_recv_msg_size_mib")]
    [TestCase("HTTPServer", "http_server")]
    [TestCase("Ipv4", "ipv4")]
    [TestCase("Http2Only", "http2_only")]
    [TestCase("Timeout", "timeout")]
    public void Property_names_map_to_snake_case(string name, string key)
    {
        Assert.That(ConfigBinder.ToSnakeCase(name), Is.EqualTo(key));
    }

    [TestCase("write_ahead")]
    [TestCase("WriteAhead")]
    [TestCase("writeahead")]
    [TestCase("WRITE_AHEAD")]
    public void Enums_accept_snake_case_and_member_names_in_any_case(string text)
    {
        var (config, errors) = Bind($"durability: {text}");

        Assert.That(errors.All, Is.Empty);
        Assert.That(config.Durability, Is.EqualTo(TestDurability.WriteAhead));
    }

    [Test]
    public void Null_keeps_non_nullable_defaults_and_clears_nullable_ones()
    {
        var (config, errors) = Bind("endpoint:\napi_key: null\nlimit: ~\ntags:\nretry:\n");

        Assert.That(errors.All, Is.Empty);
        Assert.That(config.Endpoint, Is.EqualTo("localhost:1234"));
        Assert.That(config.ApiKey, Is.Null);
        Assert.That(config.Limit, Is.Null);
        Assert.That(config.Tags, Is.EqualTo(new[] { "default" }));
        Assert.That(config.Retry.MaxAttempts, Is.EqualTo(3));
    }

    [Test]
    public void Quoted_null_is_a_string()
    {
        var (config, errors) = Bind("api_key: 'null'\n");

        Assert.That(errors.All, Is.Empty);
        Assert.That(config.ApiKey, Is.EqualTo("null"));
    }

    [Test]
    public void Null_list_items_and_dictionary_values_are_errors()
    {
        var (_, errors) = Bind("tags: [a, ~]\nheaders: { x: }\nprices: { free: }\n", "r");

        Assert.That(errors.All, Is.EqualTo(new[]
        {
            "r.tags[1]: expected a string, got null",
            "r.headers.x: expected a string, got null",
        }));
    }

    [Test]
    public void Ignored_and_computed_properties_are_not_keys()
    {
        var (_, errors) = Bind("runtime: x\nhas_grpc: true\napi_key_header_name: y\n");

        Assert.That(errors.All, Is.EqualTo(new[]
        {
            "runtime: unknown key 'runtime'",
            "has_grpc: unknown key 'has_grpc'",
            "api_key_header_name: unknown key 'api_key_header_name'",
        }));
    }

    [TestCase("workers: 99999999999", "workers: '99999999999' is not an integer")]
    [TestCase("ratio: fast", "ratio: 'fast' is not a number")]
    [TestCase("timeout: -1s", "timeout: '-1s' is not a duration (e.g. 500ms, 5s, 1m30s)")]
    [TestCase("linger: [1s]", "linger: expected a duration (e.g. 500ms, 5s, 1m30s), got a list")]
    [TestCase("headers: [a]", "headers: expected a mapping, got a list")]
    [TestCase("prices: { gpt: { input: x } }", "prices.gpt.input: 'x' is not a number")]
    [TestCase("grpc: { max_recv_msg_size_mb: 4 }", "grpc.max_recv_msg_size_mb: unknown key 'max_recv_msg_size_mb' (did you mean 'max_recv_msg_size_mib'?)")]
    public void Type_errors_name_the_path_and_the_expected_type(string yaml, string expected)
    {
        var (_, errors) = Bind(yaml);

        Assert.That(errors.All, Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void Unsupported_property_types_are_a_programming_error()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader("pattern: x"));

        Assert.Throws<NotSupportedException>(() => ConfigBinder.Bind(stream.Documents[0].RootNode, new UnsupportedConfig(), new ConfigErrors()));
    }

    private static (TestComponentConfig Config, ConfigErrors Errors) Bind(string yaml, string path = "")
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var config = new TestComponentConfig();
        var root = new ConfigErrors();
        ConfigBinder.Bind(stream.Documents[0].RootNode, config, path.Length == 0 ? root : root.At(path));
        return (config, root);
    }

    private sealed class UnsupportedConfig
    {
        public System.Text.RegularExpressions.Regex? Pattern { get; set; }
    }
}
