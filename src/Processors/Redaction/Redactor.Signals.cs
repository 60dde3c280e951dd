using Collector.Pipeline.Otlp;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Processors.Redaction;

/// <summary>
/// Where redaction applies, per signal. Index loops over the protobuf lists: their foreach
/// enumerator is boxed, and a clean span must not allocate.
/// </summary>
internal sealed partial class Redactor
{
    public void Redact(RepeatedField<ResourceSpans> resources, RedactionTally tally)
    {
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            RedactResource(resource.Resource, tally);
            for (var s = 0; s < resource.ScopeSpans.Count; s++)
            {
                var scope = resource.ScopeSpans[s];
                RedactScope(scope.Scope, tally);
                for (var i = 0; i < scope.Spans.Count; i++)
                {
                    RedactSpan(scope.Spans[i], tally);
                }
            }
        }
    }

    public void Redact(RepeatedField<ResourceLogs> resources, RedactionTally tally)
    {
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            RedactResource(resource.Resource, tally);
            for (var s = 0; s < resource.ScopeLogs.Count; s++)
            {
                var scope = resource.ScopeLogs[s];
                RedactScope(scope.Scope, tally);
                for (var i = 0; i < scope.LogRecords.Count; i++)
                {
                    RedactLog(scope.LogRecords[i], tally);
                }
            }
        }
    }

    public void Redact(RepeatedField<ResourceMetrics> resources, RedactionTally tally)
    {
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            RedactResource(resource.Resource, tally);
            for (var s = 0; s < resource.ScopeMetrics.Count; s++)
            {
                var scope = resource.ScopeMetrics[s];
                RedactScope(scope.Scope, tally);
                for (var i = 0; i < scope.Metrics.Count; i++)
                {
                    RedactMetric(scope.Metrics[i], tally);
                }
            }
        }
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
    private void RedactMetric(Metric metric, RedactionTally tally)
    {
        switch (metric.DataCase)
        {
            case Metric.DataOneofCase.Gauge:
                RedactPoints(metric.Gauge.DataPoints, tally);
                break;
            case Metric.DataOneofCase.Sum:
                RedactPoints(metric.Sum.DataPoints, tally);
                break;
            case Metric.DataOneofCase.Histogram:
                var histogram = metric.Histogram.DataPoints;
                for (var i = 0; i < histogram.Count; i++)
                {
                    RedactPoint(histogram[i].Attributes, histogram[i].Exemplars, tally);
                }

                break;
            case Metric.DataOneofCase.ExponentialHistogram:
                var exponential = metric.ExponentialHistogram.DataPoints;
                for (var i = 0; i < exponential.Count; i++)
                {
                    RedactPoint(exponential[i].Attributes, exponential[i].Exemplars, tally);
                }

                break;
            case Metric.DataOneofCase.Summary:
                var summary = metric.Summary.DataPoints;
                for (var i = 0; i < summary.Count; i++)
                {
                    RedactPoint(summary[i].Attributes, null, tally);
                }

                break;
        }
    }

    private void RedactPoints(RepeatedField<NumberDataPoint> points, RedactionTally tally)
    {
        for (var i = 0; i < points.Count; i++)
        {
            RedactPoint(points[i].Attributes, points[i].Exemplars, tally);
        }
    }

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
}
