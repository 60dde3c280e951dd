using System.Collections.Concurrent;
using Collector.Pipeline;
using Google.Protobuf;

namespace Collector.Tests.Receiver;

/// <summary>A real pipeline entry that keeps what it is given; can be told to refuse, or to throw.</summary>
internal sealed class RecordingEntry<T> : IPipelineEntry<T>
    where T : class, IMessage<T>
{
    private readonly ConcurrentQueue<Batch<T>> _batches = new();

    /// <summary>When set, every submission is refused with this retry-after delay.</summary>
    public TimeSpan? RefuseWithRetryAfter { get; set; }

    /// <summary>When set, every submission throws what this makes (an OutOfMemoryException under a heap limit, say).</summary>
    public Func<Exception>? ThrowOnSubmit { get; set; }

    public IReadOnlyList<Batch<T>> Batches => [.. _batches];

    public ValueTask<SubmitResult> SubmitAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        if (ThrowOnSubmit is { } create)
        {
            throw create();
        }

        if (RefuseWithRetryAfter is { } delay)
        {
            return ValueTask.FromResult(SubmitResult.Refused("test pipeline is full", delay));
        }

        _batches.Enqueue(batch);
        return ValueTask.FromResult(SubmitResult.Accepted);
    }
}
