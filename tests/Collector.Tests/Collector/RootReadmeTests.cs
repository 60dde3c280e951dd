using Collector.Pipeline;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Daemon;

/// <summary>The root README names every registered component: in its kind's table and in the data-flow picture.</summary>
public sealed class RootReadmeTests
{
    private static readonly string Readme = File.ReadAllText(RepositoryFiles.PathOf("README.md"));

    [TestCase(ComponentKind.Receiver, "### receivers")]
    [TestCase(ComponentKind.Processor, "### processors")]
    [TestCase(ComponentKind.Exporter, "### exporters")]
    [TestCase(ComponentKind.Extension, "### extensions")]
    public void Every_registered_component_has_a_row_in_its_kinds_table(ComponentKind kind, string heading)
    {
        var table = Section(heading);
        Assert.That(
            CollectorComponents.CreateRegistry().TypesOf(kind).Where(type => !table.Contains($"| [`{type}`](", StringComparison.Ordinal)),
            Is.Empty,
            $"components missing from the README's {heading} table");
    }

    [TestCase(ComponentKind.Receiver)]
    [TestCase(ComponentKind.Processor)]
    [TestCase(ComponentKind.Exporter)]
    public void The_data_flow_picture_shows_every_receiver_processor_and_exporter(ComponentKind kind)
    {
        var picture = Section("## Data flow");
        Assert.That(
            CollectorComponents.CreateRegistry().TypesOf(kind).Where(type => !picture.Contains(type, StringComparison.Ordinal)),
            Is.Empty);
    }

    /// <summary>From the heading to the next heading of any level.</summary>
    private static string Section(string heading)
    {
        var start = Readme.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), heading);
        var end = Readme.IndexOf("\n#", start + heading.Length + 2, StringComparison.Ordinal);
        return end < 0 ? Readme[start..] : Readme[start..end];
    }
}
