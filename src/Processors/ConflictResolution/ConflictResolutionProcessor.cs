using Collector.Pipeline;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.ConflictResolution;

/// <summary>Normalises every GenAI span of a batch in place (rules in <see cref="SpanNormalizer"/>), then hands the batch on.</summary>
internal sealed class ConflictResolutionProcessor(ComponentContext context, ConflictResolutionConfig config, IConsumer<ResourceSpans> next)
    : IProcessor<ResourceSpans>
{
    private readonly SpanNormalizer _normalizer = new(config, context.Metrics, context.Id.ToString());

    public bool MutatesData => true;

    public ValueTask ConsumeAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
    {
        foreach (var resource in batch.Resources)
        {
            foreach (var scope in resource.ScopeSpans)
            {
                var spans = scope.Spans;
                for (var i = 0; i < spans.Count; i++)
                {
                    _normalizer.Normalize(spans[i]);
                }
            }
        }

        return next.ConsumeAsync(batch, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
