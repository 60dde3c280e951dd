using Collector.Pipeline;
using Collector.Pipeline.Spool;
using Collector.Tests.TestSupport;

namespace Collector.Tests.Daemon;

/// <summary>
/// "Fail fast where durability was asked for": a spool directory that cannot hold the spool file
/// stops the start of the real binary (exit 1, one line naming the key, no stack trace) and is a
/// config error for <c>collector validate</c> (exit 2); <c>on_unavailable: degrade</c> starts anyway.
/// Tests run as root, so the unusable directories are the ones root cannot use either.
/// </summary>
[NonParallelizable]
public sealed class SpoolStartupTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const string Key = "exporters.otlphttp.sending_queue.spool.directory";
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("collector-spool-start-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    public enum Unusable
    {
        /// <summary>The directory would have to be created under a regular file.</summary>
        PathUnderAFile,

        /// <summary>The directory named is a regular file.</summary>
        DirectoryIsAFile,

        /// <summary>Where the spool file should be there is a directory: SQLite cannot open it and it is not moved aside.</summary>
        DatabaseIsADirectory,
    }

    /// <summary>Makes <paramref name="kind"/> on disk; returns the spool directory to configure and the reason expected after the key.</summary>
    private (string Directory, string Reason) Make(Unusable kind)
    {
        var file = Path.Combine(_dir, "regular-file");
        switch (kind)
        {
            case Unusable.PathUnderAFile:
                File.WriteAllText(file, "x");
                return (Path.Combine(file, "spool"), $"not a directory: {file}");
            case Unusable.DirectoryIsAFile:
                File.WriteAllText(file, "x");
                return (file, $"not a directory: {file}");
            default:
                var spool = Path.Combine(_dir, "spool");
                var database = Path.Combine(spool, SpoolFiles.FileNameFor("otlphttp"));
                Directory.CreateDirectory(database);
                File.WriteAllText(Path.Combine(database, "keep"), "x");
                return (spool, $"is a directory, not a spool file: {database}");
        }
    }

    private string Config(string spoolDirectory, string onUnavailable)
    {
        var path = Path.Combine(_dir, "collector.yaml");
        File.WriteAllText(path, $$"""
            receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:{{Ports.Free()}}" } } } }
            exporters:
              otlphttp:
                endpoint: http://127.0.0.1:9
                sending_queue:
                  spool: { directory: "{{spoolDirectory}}", on_unavailable: {{onUnavailable}} }
            service:
              telemetry: { metrics: { endpoint: null } }
              pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } }
            """);
        return path;
    }

    [TestCase(Unusable.PathUnderAFile)]
    [TestCase(Unusable.DirectoryIsAFile)]
    [TestCase(Unusable.DatabaseIsADirectory)]
    public async Task An_unusable_spool_directory_stops_the_start_with_one_line_and_validate_reports_it(Unusable kind)
    {
        var (directory, reason) = Make(kind);
        var config = Config(directory, "fail");
        var expected = $"{Key}: {reason}";

        var (runExit, runOutput) = await CollectorProcess.RunAsync(Timeout, "--config", config);
        var (validateExit, validateOutput) = await CollectorProcess.RunAsync(Timeout, "validate", "--config", config);

        Assert.Multiple(() =>
        {
            Assert.That(runExit, Is.EqualTo(1), runOutput);
            Assert.That(runOutput.Split('\n'), Has.One.Contains(expected), runOutput);
            Assert.That(runOutput, Does.Not.Contain("   at ").And.Not.Contain("Exception"), "no stack trace");
            Assert.That(validateExit, Is.EqualTo(2), validateOutput);
            Assert.That(validateOutput, Does.Contain($"  {expected}"));
            Assert.That(validateOutput, Does.Contain("1 config error(s)"));
        });
    }

    [Test]
    public async Task With_on_unavailable_degrade_the_same_directory_validates_and_the_collector_starts_without_the_spool()
    {
        var (directory, _) = Make(Unusable.PathUnderAFile);
        var config = Config(directory, "degrade");

        var (validateExit, validateOutput) = await CollectorProcess.RunAsync(Timeout, "validate", "--config", config);
        Assert.That(validateExit, Is.Zero, validateOutput);

        await using var collector = await RunningCollector.StartAsync(await File.ReadAllTextAsync(config));
        Assert.That(collector.Host.Service.State, Is.EqualTo(CollectorState.Running));
        Assert.That(collector.Host.Metrics.Sum("collector_spool_errors_total", ("exporter", "otlphttp"), ("op", "open")), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task The_host_fails_to_start_with_the_same_line_when_the_spool_cannot_be_opened()
    {
        var (directory, reason) = Make(Unusable.PathUnderAFile);
        var yaml = File.ReadAllText(Config(directory, "fail"));

        var error = await Assert.ThrowsAsync<SpoolUnavailableException>(async () => await RunningCollector.StartAsync(yaml));

        Assert.That(error!.Message, Is.EqualTo($"{Key}: {reason}"));
    }
}
