using Collector.Pipeline;
using Collector.Pipeline.Configuration;

namespace Collector.Tests.Configuration;

internal enum TestDurability
{
    OnFailure,
    WriteAhead,
}

internal sealed class TestRetryConfig
{
    public bool Enabled { get; set; } = true;

    public TimeSpan InitialInterval { get; init; } = TimeSpan.FromSeconds(1);

    public int MaxAttempts { get; init; } = 3;
}

/// <summary>Nested settings with their own checks: the loader's walk validates them, the parent does not.</summary>
internal sealed class TestGrpcConfig : IValidatable
{
    public string Endpoint { get; set; } = "localhost:4317";

    public int MaxRecvMsgSizeMib { get; set; } = 16;

    public void Validate(ConfigErrors errors)
    {
        if (MaxRecvMsgSizeMib < 1)
        {
            errors.Add("max_recv_msg_size_mib", "must be at least 1");
        }
    }
}

internal sealed class TestPrice : IValidatable
{
    public double Input { get; set; }

    public double Output { get; set; }

    public void Validate(ConfigErrors errors)
    {
        if (Input < 0)
        {
            errors.Add("input", "must not be negative");
        }
    }
}

/// <summary>One config class carrying every property shape the binder supports.</summary>
internal sealed class TestComponentConfig : ComponentConfig
{
    public string Endpoint { get; set; } = "localhost:1234";

    public string? ApiKey { get; set; }

    public int Workers { get; init; } = 2;

    public long MaxBytes { get; set; } = 1024;

    public double Ratio { get; set; } = 0.5;

    public bool Compress { get; set; } = true;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan? Linger { get; set; }

    public int? Limit { get; set; } = 7;

    public TestDurability Durability { get; set; } = TestDurability.OnFailure;

    public List<string> Tags { get; set; } = ["default"];

    public IReadOnlyList<string> Detectors { get; init; } = [];

    public string[] Names { get; set; } = [];

    public Dictionary<string, string> Headers { get; set; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public Dictionary<string, TestPrice> Prices { get; set; } = [];

    public TestRetryConfig Retry { get; init; } = new();

    public TestGrpcConfig? Grpc { get; set; }

    [ConfigKey("key_header")]
    public string ApiKeyHeaderName { get; set; } = "x-api-key";

    /// <summary>Runtime state: an unsupported type that binding must skip because of the attribute.</summary>
    [ConfigIgnore]
    public object? Runtime { get; set; }

    /// <summary>Computed: not bindable.</summary>
    public bool HasGrpc => Grpc is not null;

    public override void Validate(ConfigErrors errors)
    {
        if (Workers < 1)
        {
            errors.Add("workers", "must be at least 1");
        }

        // Deliberately prints the value, as component authors do: the loader must hide env-derived text.
        if (ApiKey is { Length: > 0 } && !ApiKey.StartsWith("key-", StringComparison.Ordinal))
        {
            errors.Add("api_key", $"'{ApiKey}' must start with key-");
        }
    }
}

internal sealed class TestFactory(ComponentKind kind, string type, params Signal[] signals) : IComponentFactory
{
    public string Type => type;

    public ComponentKind Kind => kind;

    public ComponentMetadata Metadata { get; } = Declare(signals);

    public ComponentConfig CreateDefaultConfig() => new TestComponentConfig();

    private static ComponentMetadata Declare(Signal[] signals)
    {
        var metadata = ComponentMetadata.Empty;
        foreach (var signal in signals)
        {
            metadata = metadata.WithSignal(signal, Stability.Development);
        }

        return metadata;
    }
}

internal static class TestRegistry
{
    private static readonly Signal[] All = [Signal.Traces, Signal.Metrics, Signal.Logs];

    public static ComponentRegistry Create() => new(
    [
        new TestFactory(ComponentKind.Receiver, "test_rx", All),
        new TestFactory(ComponentKind.Receiver, "logs_rx", Signal.Logs),
        new TestFactory(ComponentKind.Processor, "test_proc", All),
        new TestFactory(ComponentKind.Processor, "batchy", All),
        new TestFactory(ComponentKind.Exporter, "test_exp", Signal.Traces, Signal.Metrics),
        new TestFactory(ComponentKind.Exporter, "logs_exp", Signal.Logs),
        new TestFactory(ComponentKind.Extension, "test_ext"),
    ]);
}
