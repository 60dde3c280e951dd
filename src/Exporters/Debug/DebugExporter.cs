using Collector.Pipeline;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Telemetry;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Debug;

/// <summary>
/// Logs each batch through the collector's Serilog logger: counts (basic), one line per item
/// (normal) or every field (detailed). Only reads the batch, and never fails.
/// </summary>
internal sealed class DebugExporter<T> : IExporter<T>
    where T : class, IMessage<T>
{
    private readonly string _exporter;
    private readonly string _items;
    private readonly Serilog.ILogger _logger;
    private readonly DebugVerbosity _verbosity;
    private readonly Counter _sent;

    public DebugExporter(ComponentContext context, DebugVerbosity verbosity)
    {
        _exporter = context.Id.ToString();
        _items = SignalOps<T>.Instance.Signal.ItemName();
        _logger = context.Logger;
        _verbosity = verbosity;
        _sent = context.Metrics.Counter($"collector_exporter_sent_{_items}_total", $"{_items} delivered to the backend", ("exporter", _exporter));
    }

    public bool MutatesData => false;

    public bool RequiresDurableAck => false;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        _logger.Information("{Exporter}: {Resources} resources, {Count} {Items}", _exporter, batch.Resources.Count, batch.ItemCount, _items);
        if (_verbosity != DebugVerbosity.Basic)
        {
            var lines = new Lines(_logger, _exporter, _verbosity == DebugVerbosity.Detailed);
            switch (batch.Resources)
            {
                case RepeatedField<ResourceSpans> spans:
                    OtlpTraces.Visit(spans, ref lines);
                    break;
                case RepeatedField<ResourceMetrics> metrics:
                    OtlpMetrics.Visit(metrics, ref lines);
                    break;
                case RepeatedField<ResourceLogs> logs:
                    OtlpLogs.Visit(logs, ref lines);
                    break;
                default:
                    break;
            }
        }

        _sent.Add(batch.ItemCount);
        batch.CompleteAcks();
        return ValueTask.CompletedTask;
    }

    /// <summary>One line per item (normal), with resource and scope lines and every field (detailed).</summary>
    private readonly struct Lines(Serilog.ILogger logger, string exporter, bool detailed)
        : IOtlpVisitor<Span>, IOtlpVisitor<Metric>, IOtlpVisitor<LogRecord>
    {
        public void Resource(Resource? resource, string schemaUrl)
        {
            if (detailed)
            {
                logger.Information("{Exporter} resource {Attributes} schema_url={SchemaUrl}", exporter, DebugFormat.Attributes(resource?.Attributes ?? []), schemaUrl);
            }
        }

        public void Scope(InstrumentationScope? scope, string schemaUrl)
        {
            if (detailed)
            {
                logger.Information("{Exporter} scope {ScopeName} {ScopeVersion}", exporter, scope?.Name, scope?.Version);
            }
        }

        public void Item(Span span)
        {
            if (!detailed)
            {
                logger.Information("{Exporter} span {Name} trace_id={TraceId} span_id={SpanId}", exporter, span.Name, DebugFormat.Hex(span.TraceId), DebugFormat.Hex(span.SpanId));
                return;
            }

            logger.Information(
                "{Exporter} span {Name} trace_id={TraceId} span_id={SpanId} parent_span_id={ParentSpanId} kind={Kind} start={Start} end={End} status={StatusCode} {StatusMessage} attributes={Attributes} events={Events} links={Links}",
                exporter, span.Name, DebugFormat.Hex(span.TraceId), DebugFormat.Hex(span.SpanId), DebugFormat.Hex(span.ParentSpanId), span.Kind,
                DebugFormat.Time(span.StartTimeUnixNano), DebugFormat.Time(span.EndTimeUnixNano), span.Status?.Code, span.Status?.Message,
                DebugFormat.Attributes(span.Attributes), DebugFormat.Events(span), DebugFormat.Links(span));
        }

        public void Item(Metric metric)
        {
            if (!detailed)
            {
                logger.Information("{Exporter} metric {Name} {Type} points={Points}", exporter, metric.Name, metric.DataCase, MetricPoints.Count(metric));
                return;
            }

            logger.Information(
                "{Exporter} metric {Name} {Type} unit={Unit} description={Description} points={Points}",
                exporter, metric.Name, metric.DataCase, metric.Unit, metric.Description, DebugFormat.Points(metric));
        }

        public void Item(LogRecord record)
        {
            if (!detailed)
            {
                logger.Information("{Exporter} log {Severity} event={EventName} trace_id={TraceId}", exporter, record.SeverityText, record.EventName, DebugFormat.Hex(record.TraceId));
                return;
            }

            logger.Information(
                "{Exporter} log time={Time} severity={Severity} ({SeverityNumber}) event={EventName} trace_id={TraceId} span_id={SpanId} body={Body} attributes={Attributes}",
                exporter, DebugFormat.Time(record.TimeUnixNano), record.SeverityText, (int)record.SeverityNumber, record.EventName,
                DebugFormat.Hex(record.TraceId), DebugFormat.Hex(record.SpanId), DebugFormat.Value(record.Body), DebugFormat.Attributes(record.Attributes));
        }
    }
}
