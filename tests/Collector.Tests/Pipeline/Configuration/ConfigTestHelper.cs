using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector.Tests.Configuration;

internal static class ConfigTestHelper
{
    /// <summary>The smallest service section that passes, for tests about other sections.</summary>
    public const string MinimalPipelines = """
        receivers:
          test_rx:
        exporters:
          test_exp:
        service:
          pipelines:
            traces: { receivers: [test_rx], exporters: [test_exp] }
        """;

    public static ConfigLoadResult Load(string yaml, IReadOnlyDictionary<string, string>? env = null) =>
        ConfigLoader.Load(yaml, TestRegistry.Create(), name => env is not null && env.TryGetValue(name, out var v) ? v : null);

    public static CollectorConfig LoadOk(string yaml, IReadOnlyDictionary<string, string>? env = null)
    {
        var result = Load(yaml, env);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Ok, Is.True);
        return result.Config!;
    }

    public static IReadOnlyList<string> LoadErrors(string yaml, IReadOnlyDictionary<string, string>? env = null)
    {
        var result = Load(yaml, env);
        Assert.That(result.Ok, Is.False, "expected the config to be rejected");
        Assert.That(result.Config, Is.Null);
        return result.Errors;
    }

    public static TestComponentConfig Get(IReadOnlyDictionary<ComponentId, ComponentConfig> section, string id)
    {
        Assert.That(ComponentId.TryParse(id, out var cid), Is.True);
        return (TestComponentConfig)section[cid];
    }
}
