namespace Collector.Tests.TestSupport;

/// <summary>Files of this repository (the shipped configs), found from the test binaries upwards so tests follow what ships.</summary>
internal static class RepositoryFiles
{
    /// <summary>The full path of <paramref name="name"/> (relative to the directory holding Collector.sln).</summary>
    public static string PathOf(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, name);
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Collector.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(name);
    }
}
