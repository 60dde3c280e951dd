using Collector.Pipeline;
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
            switch (batch.Resources)
            {
                case RepeatedField<ResourceSpans> spans:
                    LogSpans(spans);
                    break;
                case RepeatedField<ResourceMetrics> metrics:
                    LogMetrics(metrics);
                    break;
                case RepeatedField<ResourceLogs> logs:
                    LogRecords(logs);
                    break;
                default:
                    break;
            }
        }

        _sent.Add(batch.ItemCount);
        batch.CompleteAcks();
        return ValueTask.CompletedTask;
    }

    private bool Detailed => _verbosity == DebugVerbosity.Detailed;

    private void LogResource(Resource? resource, string schemaUrl)
    {
        if (Detailed)
        {
            _logger.Information("{Exporter} resource {Attributes} schema_url={SchemaUrl}", _exporter, DebugFormat.Attributes(resource?.Attributes ?? []), schemaUrl);
        }
    }

    private void LogScope(InstrumentationScope? scope)
    {
        if (Detailed)
        {
            _logger.Information("{Exporter} scope {ScopeName} {ScopeVersion}", _exporter, scope?.Name, scope?.Version);
        }
    }

    private void LogSpans(RepeatedField<ResourceSpans> resources)
    {
        foreach (var rs in resources)
        {
            LogResource(rs.Resource, rs.SchemaUrl);
            foreach (var ss in rs.ScopeSpans)
            {
                LogScope(ss.Scope);
                foreach (var span in ss.Spans)
                {
                    if (!Detailed)
                    {
                        _logger.Information("{Exporter} span {Name} trace_id={TraceId} span_id={SpanId}", _exporter, span.Name, DebugFormat.Hex(span.TraceId), DebugFormat.Hex(span.SpanId));
                        continue;
                    }

                    _logger.Information(
                        "{Exporter} span {Name} trace_id={TraceId} span_id={SpanId} parent_span_id={ParentSpanId} kind={Kind} start={Start} end={End} status={StatusCode} {StatusMessage} attributes={Attributes} events={Events} links={Links}",
                        _exporter, span.Name, DebugFormat.Hex(span.TraceId), DebugFormat.Hex(span.SpanId), DebugFormat.Hex(span.ParentSpanId), span.Kind,
                        DebugFormat.Time(span.StartTimeUnixNano), DebugFormat.Time(span.EndTimeUnixNano), span.Status?.Code, span.Status?.Message,
                        DebugFormat.Attributes(span.Attributes), Events(span), Links(span));
                }
            }
        }
    }

    private static string Events(Span span)
    {
        var parts = new string[span.Events.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            var e = span.Events[i];
            parts[i] = $"{e.Name}@{DebugFormat.Time(e.TimeUnixNano)} {DebugFormat.Attributes(e.Attributes)}";
        }

        return "[" + string.Join("; ", parts) + "]";
    }

    private static string Links(Span span)
    {
        var parts = new string[span.Links.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            var l = span.Links[i];
            parts[i] = $"{DebugFormat.Hex(l.TraceId)}/{DebugFormat.Hex(l.SpanId)} {DebugFormat.Attributes(l.Attributes)}";
        }

        return "[" + string.Join("; ", parts) + "]";
    }

    private void LogMetrics(RepeatedField<ResourceMetrics> resources)
    {
        foreach (var rm in resources)
        {
            LogResource(rm.Resource, rm.SchemaUrl);
            foreach (var sm in rm.ScopeMetrics)
            {
                LogScope(sm.Scope);
                foreach (var metric in sm.Metrics)
                {
                    if (!Detailed)
                    {
                        _logger.Information("{Exporter} metric {Name} {Type} points={Points}", _exporter, metric.Name, metric.DataCase, DebugFormat.PointCount(metric));
                        continue;
                    }

                    _logger.Information(
                        "{Exporter} metric {Name} {Type} unit={Unit} description={Description} points={Points}",
                        _exporter, metric.Name, metric.DataCase, metric.Unit, metric.Description, DebugFormat.Points(metric));
                }
            }
        }
    }

    private void LogRecords(RepeatedField<ResourceLogs> resources)
    {
        foreach (var rl in resources)
        {
            LogResource(rl.Resource, rl.SchemaUrl);
            foreach (var sl in rl.ScopeLogs)
            {
                LogScope(sl.Scope);
                foreach (var record in sl.LogRecords)
                {
                    if (!Detailed)
                    {
                        _logger.Information("{Exporter} log {Severity} event={EventName} trace_id={TraceId}", _exporter, record.SeverityText, record.EventName, DebugFormat.Hex(record.TraceId));
                        continue;
                    }

                    _logger.Information(
                        "{Exporter} log time={Time} severity={Severity} ({SeverityNumber}) event={EventName} trace_id={TraceId} span_id={SpanId} body={Body} attributes={Attributes}",
                        _exporter, DebugFormat.Time(record.TimeUnixNano), record.SeverityText, (int)record.SeverityNumber, record.EventName,
                        DebugFormat.Hex(record.TraceId), DebugFormat.Hex(record.SpanId), DebugFormat.Value(record.Body), DebugFormat.Attributes(record.Attributes));
                }
            }
        }
    }
}
