using Collector.Pipeline;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;

namespace Collector.Processors.Batch;

internal sealed class BatchFactory() : EverySignalProcessorFactory<BatchConfig>(
    "batch",
    () => new(),
    Stability.Beta,
    Create,
    Create,
    Create,
    new MetricInfo("collector_processor_batch_batch_send_size_trigger_send_total", MetricType.Counter, "{batches}", "Batches sent because they reached send_batch_size.", "processor", "pipeline"),
    new MetricInfo("collector_processor_batch_timeout_trigger_send_total", MetricType.Counter, "{batches}", "Batches sent because their timeout elapsed.", "processor", "pipeline"))
{
    private static IProcessor<T> Create<T>(ComponentContext context, BatchConfig config, IConsumer<T> next)
        where T : class, IMessage<T> =>
        new BatchProcessor<T>(context, config, next);
}
