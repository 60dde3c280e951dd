using Collector.Pipeline.Otlp;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.Redaction;

/// <summary>
/// Where redaction applies, per signal, walked by the OTLP shape layer (a struct visitor, index
/// loops: a clean span must not allocate).
/// </summary>
internal sealed partial class Redactor
{
    public void Redact(RepeatedField<ResourceSpans> resources, RedactionTally tally)
    {
        var walk = new Walk(this, tally);
        OtlpTraces.Visit(resources, ref walk);
    }

    public void Redact(RepeatedField<ResourceLogs> resources, RedactionTally tally)
    {
        var walk = new Walk(this, tally);
        OtlpLogs.Visit(resources, ref walk);
    }

    public void Redact(RepeatedField<ResourceMetrics> resources, RedactionTally tally)
    {
        var walk = new Walk(this, tally);
        OtlpMetrics.Visit(resources, ref walk);
    }

    private void RedactResource(Resource? resource, RedactionTally tally)
    {
        if (resource is null)
        {
            return;
        }

        tally.BeginItem();
        RedactAttributes(resource.Attributes, tally);
        Summarise(resource.Attributes, tally);
    }

    /// <summary>Scope attributes get the same rules; no summary there (it is shared by many items).</summary>
    private void RedactScope(InstrumentationScope? scope, RedactionTally tally)
    {
        if (scope is null)
        {
            return;
        }

        tally.BeginItem();
        RedactAttributes(scope.Attributes, tally);
    }

    private void RedactSpan(Span span, RedactionTally tally)
    {
        tally.BeginItem();
        RedactAttributes(span.Attributes, tally);
        for (var i = 0; i < span.Events.Count; i++)
        {
            RedactAttributes(span.Events[i].Attributes, tally);
        }

        for (var i = 0; i < span.Links.Count; i++)
        {
            RedactAttributes(span.Links[i].Attributes, tally);
        }

        if (span.Status is { Message.Length: > 0 } status)
        {
            var masked = 0;
            if (RedactString(status.Message, tally, ref masked) is { } redacted)
            {
                status.Message = redacted;
                tally.NoteMasked("status.message", masked);
            }
        }

        Summarise(span.Attributes, tally);
    }

    private void RedactLog(LogRecord log, RedactionTally tally)
    {
        tally.BeginItem();
        RedactAttributes(log.Attributes, tally);
        if (log.Body is { } body)
        {
            var masked = RedactValue(body, 1, tally);
            if (masked > 0)
            {
                tally.NoteMasked("body", masked);
            }
        }

        Summarise(log.Attributes, tally);
    }

    /// <summary>Data point and exemplar attributes; no summary on points, it would split their series.</summary>
    private void RedactPoint(RepeatedField<KeyValue> attributes, RepeatedField<Exemplar>? exemplars, RedactionTally tally)
    {
        tally.BeginItem();
        RedactAttributes(attributes, tally);
        for (var i = 0; exemplars is not null && i < exemplars.Count; i++)
        {
            RedactAttributes(exemplars[i].FilteredAttributes, tally);
        }
    }

    /// <summary>Adds (or, after an earlier redaction instance, adds to) the summary attributes of a changed item.</summary>
    private void Summarise(RepeatedField<KeyValue> attributes, RedactionTally tally)
    {
        if (!Summary)
        {
            return;
        }

        if (tally.ItemMasked > 0)
        {
            AddCount(attributes, SummaryKeys.MaskedCount, tally.ItemMasked);
            AddKeys(attributes, SummaryKeys.MaskedKeys, tally.ItemMaskedKeys);
        }

        if (tally.ItemRemovedKeys.Count > 0)
        {
            AddCount(attributes, SummaryKeys.RemovedCount, tally.ItemRemovedKeys.Count);
            AddKeys(attributes, SummaryKeys.RemovedKeys, tally.ItemRemovedKeys);
        }
    }

    private static void AddCount(RepeatedField<KeyValue> attributes, string key, long count)
    {
        if (OtlpAttributes.Find(attributes, key) is { ValueCase: AnyValue.ValueOneofCase.IntValue } existing)
        {
            existing.IntValue += count;
        }
        else
        {
            OtlpAttributes.SetInt(attributes, key, count);
        }
    }

    /// <summary>Sorted, distinct, comma-separated (as the OpenTelemetry Collector's redaction processor writes them).</summary>
    private static void AddKeys(RepeatedField<KeyValue> attributes, string key, List<string> keys)
    {
        var all = new SortedSet<string>(keys, StringComparer.Ordinal);
        if (OtlpAttributes.FindString(attributes, key) is { } previous)
        {
            all.UnionWith(previous.Split(',', StringSplitOptions.RemoveEmptyEntries));
        }

        OtlpAttributes.SetString(attributes, key, string.Join(',', all));
    }

    /// <summary>Where redaction applies in each signal's data: every header, item and data point.</summary>
    private readonly struct Walk(Redactor redactor, RedactionTally tally)
        : IOtlpVisitor<Span>, IOtlpVisitor<LogRecord>, IOtlpVisitor<Metric>, IDataPointVisitor
    {
        public void Resource(Resource? resource, string schemaUrl) => redactor.RedactResource(resource, tally);

        public void Scope(InstrumentationScope? scope, string schemaUrl) => redactor.RedactScope(scope, tally);

        public void Item(Span item) => redactor.RedactSpan(item, tally);

        public void Item(LogRecord item) => redactor.RedactLog(item, tally);

        public void Item(Metric item)
        {
            var walk = this;
            MetricPoints.Visit(item, ref walk);
        }

        public void Point(NumberDataPoint point) => redactor.RedactPoint(point.Attributes, point.Exemplars, tally);

        public void Point(HistogramDataPoint point) => redactor.RedactPoint(point.Attributes, point.Exemplars, tally);

        public void Point(ExponentialHistogramDataPoint point) => redactor.RedactPoint(point.Attributes, point.Exemplars, tally);

        public void Point(SummaryDataPoint point) => redactor.RedactPoint(point.Attributes, null, tally);
    }
}
