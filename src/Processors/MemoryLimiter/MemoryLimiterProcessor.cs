using Collector.Pipeline;
using Collector.Pipeline.Graph;
using Google.Protobuf;

namespace Collector.Processors.MemoryLimiter;

/// <summary>
/// Passes batches on; its gate (<see cref="MemoryGate"/>, shared by every pipeline listing this
/// id) refuses new data at the pipeline door above the soft limit. A pipeline with one does not
/// get the service's default memory limit.
/// </summary>
internal sealed class MemoryLimiterProcessor<T>(MemoryGate gate, IConsumer<T> next) : IProcessor<T>, IMemoryAdmission
    where T : class, IMessage<T>
{
    public bool MutatesData => false;

    public string? CheckAdmission(long incomingBytes) => gate.CheckAdmission(incomingBytes);

    public bool IsRefusing => gate.IsRefusing;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken) => next.ConsumeAsync(batch, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => gate.StartAsync();

    public Task ShutdownAsync(CancellationToken cancellationToken) => gate.StopAsync();
}
