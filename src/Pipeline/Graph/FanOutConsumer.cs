using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Collector.Pipeline.Graph;

/// <summary>
/// Hands every batch to every exporter of a pipeline. Exporters only enqueue, so one slow
/// exporter never blocks another. Consumers that mutate get their own deep copy.
/// </summary>
internal sealed class FanOutConsumer<T>(IReadOnlyList<IConsumer<T>> consumers) : IConsumer<T>
    where T : class, IMessage<T>
{
    public bool MutatesData => false;

    public async ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        if (consumers.Count == 1)
        {
            await consumers[0].ConsumeAsync(batch, cancellationToken);
            return;
        }

        batch.AddAckHolders(consumers.Count - 1);
        Exception? failure = null;
        for (var i = 0; i < consumers.Count; i++)
        {
            var consumer = consumers[i];

            // Non-mutating exporters share one batch; each mutating one gets its own copy.
            var copy = consumer.MutatesData ? batch.Clone() : batch;
            try
            {
                await consumer.ConsumeAsync(copy, cancellationToken);
            }
            catch (Exception e)
            {
                // One exporter's bug must not hide the batch from the others.
                failure ??= e;
            }
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
