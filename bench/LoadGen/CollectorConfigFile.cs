using YamlDotNet.RepresentationModel;

namespace Collector.LoadGen;

/// <summary>What the load generator must know about the collector config it runs, read from its YAML.</summary>
internal static class CollectorConfigFile
{
    /// <summary>True when a traces pipeline lists a langtrace_merge processor, which drops the dual-link duplicate of an LLM call.</summary>
    public static bool MergesDualLinks(string path)
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            yaml.Load(reader);
        }

        if (yaml.Documents.Count == 0
            || yaml.Documents[0].RootNode is not YamlMappingNode root
            || Child(root, "service") is not YamlMappingNode service
            || Child(service, "pipelines") is not YamlMappingNode pipelines)
        {
            return false;
        }

        foreach (var (key, value) in pipelines.Children)
        {
            // Pipeline ids are "traces" or "traces/<name>"; processor ids "langtrace_merge" or "langtrace_merge/<name>".
            if (key is YamlScalarNode { Value: { } id } && TypeOf(id) == "traces"
                && value is YamlMappingNode pipeline && Child(pipeline, "processors") is YamlSequenceNode processors)
            {
                foreach (var processor in processors.Children)
                {
                    if (processor is YamlScalarNode { Value: { } name } && TypeOf(name) == "langtrace_merge")
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>
    /// A copy of the config at <paramref name="path"/> (in the temp directory) with the <c>durability</c>
    /// key of every pipeline removed: the same pipeline without durable ingress, for a paired run.
    /// </summary>
    public static string WithoutDurability(string path)
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            yaml.Load(reader);
        }

        if (yaml.Documents.Count > 0
            && yaml.Documents[0].RootNode is YamlMappingNode root
            && Child(root, "service") is YamlMappingNode service
            && Child(service, "pipelines") is YamlMappingNode pipelines)
        {
            foreach (var (_, value) in pipelines.Children)
            {
                (value as YamlMappingNode)?.Children.Remove(new YamlScalarNode("durability"));
            }
        }

        var copy = Path.Combine(Path.GetTempPath(), Path.GetFileNameWithoutExtension(path) + $".without-durability.{Environment.ProcessId}.yaml");
        using (var writer = File.CreateText(copy))
        {
            yaml.Save(writer, assignAnchors: false);
        }

        return copy;
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string TypeOf(string componentId)
    {
        var slash = componentId.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? componentId : componentId[..slash];
    }
}
