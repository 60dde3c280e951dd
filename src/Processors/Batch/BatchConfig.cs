using Collector.Pipeline.Configuration;

namespace Collector.Processors.Batch;

public sealed class BatchConfig : ComponentConfig
{
    /// <summary>Items (spans, data points, log records) that trigger a send; 0 = only the timeout sends.</summary>
    public int SendBatchSize { get; set; } = 1024;

    /// <summary>Hard cap per sent batch; larger batches are split. 0 = no cap.</summary>
    public int SendBatchMaxSize { get; set; }

    /// <summary>A non-empty batch is sent at the latest this long after its first item arrived.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

    public override void Validate(ConfigErrors errors)
    {
        if (SendBatchSize < 0)
        {
            errors.Add("send_batch_size", "must be >= 0");
        }

        if (SendBatchMaxSize < 0)
        {
            errors.Add("send_batch_max_size", "must be >= 0");
        }
        else if (SendBatchMaxSize > 0 && SendBatchMaxSize < SendBatchSize)
        {
            errors.Add("send_batch_max_size", "must be 0 or >= send_batch_size");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            errors.Add("timeout", "must be > 0");
        }
    }
}
