using System.Text;
using Collector.Pipeline;
using Collector.Pipeline.Telemetry;

namespace Collector.Tests.Components;

/// <summary>Each component folder's README.md lists, under "## Metrics", exactly the metrics its factory declares.</summary>
public sealed class ComponentReadmeTests
{
    private const string Heading = "## Metrics";

    [TestCaseSource(typeof(ComponentContractTests), nameof(ComponentContractTests.Factories))]
    public void The_readme_metric_table_matches_the_metadata(IComponentFactory factory)
    {
        var readme = Path.Combine(ComponentFolder(factory), "README.md");
        Assert.That(File.Exists(readme), Is.True, $"{readme} is missing");

        var expected = Table(factory.Metadata.Metrics);
        var actual = Section(File.ReadAllLines(readme));

        Assert.That(actual, Is.EqualTo(expected), $"{readme}: the {Heading} section should read:\n{Heading}\n\n{string.Join('\n', expected)}\n");
    }

    /// <summary>The rows the metadata calls for, or "None." for a component without self-metrics.</summary>
    private static List<string> Table(IReadOnlyList<MetricInfo> metrics)
    {
        if (metrics.Count == 0)
        {
            return ["None."];
        }

        var rows = new List<string> { "| metric | type | unit | labels | description |", "|---|---|---|---|---|" };
        foreach (var m in metrics)
        {
            var labels = new StringBuilder();
            foreach (var label in m.Labels)
            {
                labels.Append(labels.Length == 0 ? string.Empty : ", ").Append('`').Append(label).Append('`');
            }

            var type = m.Type == MetricType.Counter ? "counter" : "gauge";
            rows.Add($"| `{m.Name}` | {type} | `{m.Unit}` | {labels} | {m.Description} |");
        }

        return rows;
    }

    /// <summary>The non-blank lines of the section up to the first line that is neither a table row nor "None.".</summary>
    private static List<string> Section(string[] lines)
    {
        var start = Array.IndexOf(lines, Heading);
        var section = new List<string>();
        if (start < 0)
        {
            return section;
        }

        for (var i = start + 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd();
            if (line.Length == 0 && section.Count == 0)
            {
                continue;
            }

            if (!line.StartsWith('|') && line != "None.")
            {
                break;
            }

            section.Add(line);
        }

        return section;
    }

    /// <summary>src/ folder of the factory's namespace: Collector.Processors.Batch -> src/Processors/Batch, Collector.HealthCheck -> src/Collector/HealthCheck.</summary>
    private static string ComponentFolder(IComponentFactory factory)
    {
        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Collector.sln")))
        {
            root = root.Parent;
        }

        Assert.That(root, Is.Not.Null, "repository root (Collector.sln) not found above the test directory");
        var relative = factory.GetType().Namespace!["Collector.".Length..].Replace('.', Path.DirectorySeparatorChar);
        var folder = Path.Combine(root!.FullName, "src", relative);
        return Directory.Exists(folder) ? folder : Path.Combine(root.FullName, "src", "Collector", relative);
    }
}
