using Collector.Pipeline.Configuration;

namespace Collector.Processors.ConflictResolution;

/// <summary>The convention every GenAI span is normalised to.</summary>
public enum ConflictTarget
{
    /// <summary>OpenTelemetry GenAI semantic conventions.</summary>
    [ConfigKey("otel_genai")]
    OtelGenAi,

    /// <summary>What the Langtrace server and UI read.</summary>
    Langtrace,
}

/// <summary>Which value wins when two keys disagree about one concept.</summary>
public enum ConflictPreference
{
    /// <summary>The value already under the target convention's key.</summary>
    Target,

    /// <summary>The value under a non-target key (the first one in convention precedence order).</summary>
    Source,

    /// <summary>The numeric maximum (token counts); non-numeric concepts fall back to <see cref="Target"/>.</summary>
    Max,
}

public sealed class ConflictResolutionConfig : ComponentConfig
{
    public ConflictTarget Target { get; set; } = ConflictTarget.OtelGenAi;

    /// <summary>Keep the non-target keys after their values were written under the target keys.</summary>
    public bool KeepSourceKeys { get; set; }

    public ConflictPreference Prefer { get; set; } = ConflictPreference.Target;

    public override void Validate(ConfigErrors errors)
    {
        // The YAML binder only produces defined members; these guard configs built in code.
        if (!Enum.IsDefined(Target))
        {
            errors.Add("target", "must be otel_genai or langtrace");
        }

        if (!Enum.IsDefined(Prefer))
        {
            errors.Add("prefer", "must be target, source or max");
        }
    }
}
