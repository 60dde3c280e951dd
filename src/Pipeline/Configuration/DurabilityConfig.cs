using Collector.Pipeline.Export;

namespace Collector.Pipeline.Configuration;

/// <summary>
/// service.pipelines.&lt;id&gt;.durability: the pipeline door's write-ahead log (docs/architecture.md,
/// "Acks and durability"). Each request is committed to <c>&lt;directory&gt;/ingress_&lt;pipeline&gt;.spool.db</c>
/// before the client is answered and released once every exporter has sent, spooled or dropped by
/// rule what was made of it; what is not released is replayed through the processors at the next start.
/// </summary>
public sealed class DurabilityConfig : SpoolStorageConfig
{
    public DurabilityMode Mode { get; set; } = DurabilityMode.WriteAhead;

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        if (!Enum.IsDefined(Mode))
        {
            errors.Add("mode", "must be write_ahead");
        }
    }

    /// <summary>The owner name of the log file and of its <c>validate</c> check: <c>ingress/&lt;pipeline&gt;</c>.</summary>
    internal static ComponentId LogOwner(PipelineId pipeline) => new("ingress", pipeline.ToString());
}

/// <summary>durability.mode; YAML name write_ahead.</summary>
public enum DurabilityMode
{
    /// <summary>Commit each request to the log before the client is answered.</summary>
    WriteAhead,
}
