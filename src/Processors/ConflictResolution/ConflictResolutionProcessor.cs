using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
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
        var normalize = new NormalizeSpans(_normalizer);
        OtlpTraces.Visit(batch.Resources, ref normalize);
        return next.ConsumeAsync(batch, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private readonly struct NormalizeSpans(SpanNormalizer normalizer) : IOtlpVisitor<Span>
    {
        public void Resource(Resource? resource, string schemaUrl)
        {
        }

        public void Scope(InstrumentationScope? scope, string schemaUrl)
        {
        }

        public void Item(Span item) => normalizer.Normalize(item);
    }
}
