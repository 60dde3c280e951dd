namespace Collector.Pipeline.Export;

/// <summary>
/// One attempt under the exporter's <c>timeout</c>. Exceptions become results (a timeout and
/// transport errors are retryable, see <see cref="RetryClassifier"/>) unless the caller's token
/// fired, which propagates: the caller stopped, the attempt did not fail.
/// </summary>
internal sealed class TimeoutSender<T>(IExportSender<T> next, TimeSpan timeout) : IExportSender<T>
    where T : class, Google.Protobuf.IMessage<T>
{
    public async Task<ExportResult> SendAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            return await next.SendAsync(batch, attempt.Token);
        }
        catch (Exception) when (attempt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ExportResult.Retryable($"attempt timed out after {Configuration.Duration.Format(timeout)}");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return RetryClassifier.FromException(e);
        }
    }
}
