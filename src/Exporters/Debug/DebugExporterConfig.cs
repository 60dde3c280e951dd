using Collector.Pipeline.Configuration;

namespace Collector.Exporters.Debug;

/// <summary>verbosity: YAML basic | normal | detailed.</summary>
internal enum DebugVerbosity
{
    /// <summary>One line per batch with counts.</summary>
    Basic,

    /// <summary>One line per span, metric or log record (name and ids).</summary>
    Normal,

    /// <summary>One line per item with everything: ids, times, attributes, events, data points.</summary>
    Detailed,
}

/// <summary>exporters.debug: writes what passes to the collector's own log.</summary>
internal sealed class DebugExporterConfig : ComponentConfig
{
    public DebugVerbosity Verbosity { get; set; } = DebugVerbosity.Basic;

    public override void Validate(ConfigErrors errors)
    {
        if (!Enum.IsDefined(Verbosity))
        {
            errors.Add("verbosity", "must be basic, normal or detailed");
        }
    }
}
