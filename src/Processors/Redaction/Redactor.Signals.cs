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
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            resource.SchemaUrl = SchemaUrl(resource.SchemaUrl, tally);
            for (var s = 0; s < resource.ScopeSpans.Count; s++)
            {
                resource.ScopeSpans[s].SchemaUrl = SchemaUrl(resource.ScopeSpans[s].SchemaUrl, tally);
            }
        }
    }

    public void Redact(RepeatedField<ResourceLogs> resources, RedactionTally tally)
    {
        var walk = new Walk(this, tally);
        OtlpLogs.Visit(resources, ref walk);
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            resource.SchemaUrl = SchemaUrl(resource.SchemaUrl, tally);
            for (var s = 0; s < resource.ScopeLogs.Count; s++)
            {
                resource.ScopeLogs[s].SchemaUrl = SchemaUrl(resource.ScopeLogs[s].SchemaUrl, tally);
            }
        }
    }

    public void Redact(RepeatedField<ResourceMetrics> resources, RedactionTally tally)
    {
        var walk = new Walk(this, tally);
        OtlpMetrics.Visit(resources, ref walk);
        for (var r = 0; r < resources.Count; r++)
        {
            var resource = resources[r];
            resource.SchemaUrl = SchemaUrl(resource.SchemaUrl, tally);
            for (var s = 0; s < resource.ScopeMetrics.Count; s++)
            {
                resource.ScopeMetrics[s].SchemaUrl = SchemaUrl(resource.ScopeMetrics[s].SchemaUrl, tally);
            }
        }
    }

    /// <summary>schema_url headers are shared by many items: counted in the self-metrics, no summary.</summary>
    private string SchemaUrl(string url, RedactionTally tally) => Scanned(url, RedactionLocation.SchemaUrl, null, tally);

    /// <summary>
    /// <paramref name="text"/> with the value rules applied when <paramref name="location"/> is scanned;
    /// a change is noted under <paramref name="summaryKey"/> on the current item (null: shared headers).
    /// </summary>
    private string Scanned(string text, RedactionLocation location, string? summaryKey, RedactionTally tally)
    {
        var masked = 0;
        if (text.Length == 0 || !Scans(location) || RedactName(text, tally, ref masked) is not { } redacted)
        {
            return text;
        }

        if (summaryKey is not null)
        {
            tally.NoteMasked(summaryKey, masked);
        }

        return redacted;
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
        scope.Name = Scanned(scope.Name, RedactionLocation.ScopeName, null, tally);
        scope.Version = Scanned(scope.Version, RedactionLocation.ScopeVersion, null, tally);
    }

    private void RedactSpan(Span span, RedactionTally tally)
    {
        tally.BeginItem();
        RedactAttributes(span.Attributes, tally);
        span.Name = Scanned(span.Name, RedactionLocation.SpanName, "name", tally);
        span.TraceState = Scanned(span.TraceState, RedactionLocation.TraceState, "trace_state", tally);
        for (var i = 0; i < span.Events.Count; i++)
        {
            var spanEvent = span.Events[i];
            RedactAttributes(spanEvent.Attributes, tally);
            spanEvent.Name = Scanned(spanEvent.Name, RedactionLocation.SpanEventName, "events.name", tally);
        }

        for (var i = 0; i < span.Links.Count; i++)
        {
            var link = span.Links[i];
            RedactAttributes(link.Attributes, tally);
            link.TraceState = Scanned(link.TraceState, RedactionLocation.TraceState, "links.trace_state", tally);
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
        log.EventName = Scanned(log.EventName, RedactionLocation.LogEventName, "event_name", tally);
        log.SeverityText = Scanned(log.SeverityText, RedactionLocation.SeverityText, "severity_text", tally);
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
