namespace Collector.Pipeline.Export;

/// <summary>
/// The shutdown state one exporter helper shares with its senders: <see cref="IsStopping"/> once
/// shutdown began (new batches are parked or dropped, not queued), and <see cref="Abort"/>, cancelled
/// only when shutdown runs out of time (in-flight sends and backoff waits end at once).
/// </summary>
internal sealed class ExportStopping
{
    private readonly CancellationTokenSource _abort = new();
    private int _stopping;

    public bool IsStopping => Volatile.Read(ref _stopping) == 1;

    public CancellationToken Abort => _abort.Token;

    public void Begin() => Interlocked.Exchange(ref _stopping, 1);

    public Task AbortAsync() => _abort.CancelAsync();
}
