using System.Collections.Concurrent;
using Collector.Pipeline;
using Google.Protobuf;

namespace Collector.Tests.Receiver;

/// <summary>A real pipeline entry that keeps what it is given; can be told to refuse.</summary>
internal sealed class RecordingEntry<T> : IPipelineEntry<T>
    where T : class, IMessage<T>
{
    private readonly ConcurrentQueue<Batch<T>> _batches = new();

    /// <summary>When set, every submission is refused with this retry-after delay.</summary>
    public TimeSpan? RefuseWithRetryAfter { get; set; }

    public IReadOnlyList<Batch<T>> Batches => [.. _batches];

    public ValueTask<SubmitResult> SubmitAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        if (RefuseWithRetryAfter is { } delay)
        {
            return ValueTask.FromResult(SubmitResult.Refused("test pipeline is full", delay));
        }

        _batches.Enqueue(batch);
        return ValueTask.FromResult(SubmitResult.Accepted);
    }
}
