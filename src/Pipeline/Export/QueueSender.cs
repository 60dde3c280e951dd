using Google.Protobuf;

namespace Collector.Pipeline.Export;

/// <summary>
/// <c>sending_queue.num_consumers</c> tasks that take batches from the queue and send each through
/// the rest of the chain; the queue settles what the send came to. Consumers alternate between fresh
/// and spooled batches when both are waiting, so that neither starves. They end when shutdown has
/// completed the queue and it is empty.
/// </summary>
internal sealed class QueueSender<T>(IExportQueue<T> queue, CountingSender<T> next, ExportStopping stopping)
    where T : class, IMessage<T>
{
    private Task[] _consumers = [];

    /// <summary>Completes when every consumer ended (at once when none started).</summary>
    public Task Drained => Task.WhenAll(_consumers);

    public void Start(int consumers)
    {
        var tasks = new Task[consumers];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Task.Run(ConsumeAsync, CancellationToken.None);
        }

        _consumers = tasks;
    }

    private async Task ConsumeAsync()
    {
        var preferSpooled = false;
        while (true)
        {
            if (queue.TryTake(preferSpooled, out var work))
            {
                preferSpooled = !work.Replayed;
                await DeliverAsync(work, stopping.Abort);
                continue;
            }

            // No token: the loop ends when shutdown has completed the queue and it is empty.
            if (!await queue.WaitForWorkAsync())
            {
                return;
            }
        }
    }

    /// <summary>Sends one batch (with retries) and lets the queue settle it. Never throws.</summary>
    private async Task DeliverAsync(QueuedBatch<T> work, CancellationToken cancellationToken)
    {
        try
        {
            if (queue.ParkInsteadOfRetry || cancellationToken.IsCancellationRequested)
            {
                queue.Park(work);
                return;
            }

            queue.Settle(work, await next.SendAsync(work.Batch, cancellationToken));
        }
        finally
        {
            queue.Leave(work);
        }
    }
}
