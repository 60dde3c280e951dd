using Collector.Pipeline;
using Google.Protobuf;

namespace Collector.Tests.TestSupport;

/// <summary>A downstream with a bug: every batch throws (an <see cref="InvalidOperationException"/> unless told otherwise).</summary>
internal sealed class ThrowingConsumer<T>(Func<Exception>? exception = null) : IConsumer<T>
    where T : class, IMessage<T>
{
    public bool MutatesData => false;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken) =>
        throw (exception?.Invoke() ?? new InvalidOperationException("downstream bug"));
}
