using Collector.GenAi;
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
/// Logs each batch through the collector's Serilog logger for a person watching: a summary per batch
/// (basic: counts, services, errors, LLM calls and tokens), plus one readable line per item (normal:
/// name, duration, status, service, model and tokens), or every field (detailed). Only reads the batch, and never fails.
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
        // The component column of the log names the exporter, so the messages do not repeat it.
        _logger = context.Logger.ForContext("component", _exporter);
        _verbosity = verbosity;
        _sent = context.Metrics.Counter($"collector_exporter_sent_{_items}_total", $"{_items} delivered to the backend", ("exporter", _exporter));
    }

    public bool MutatesData => false;

    public bool RequiresDurableAck => false;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task ShutdownAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask ConsumeAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        var lines = new Lines(_logger, _verbosity);
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

        lines.Summary(batch.Resources.Count, batch.ItemCount, _items);
        _sent.Add(batch.ItemCount);
        batch.CompleteAcks();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Walks the batch once: tallies the summary (every verbosity) and writes one line per item
    /// (normal) or resources, scopes and every field (detailed).
    /// </summary>
    private struct Lines(Serilog.ILogger logger, DebugVerbosity verbosity)
        : IOtlpVisitor<Span>, IOtlpVisitor<Metric>, IOtlpVisitor<LogRecord>
    {
        private string _service = DebugFormat.UnknownService;
        private List<string>? _services;
        private int _errors;
        private int _llmCalls;
        private long _tokens;

        private readonly bool Detailed => verbosity == DebugVerbosity.Detailed;

        private readonly bool PerItem => verbosity != DebugVerbosity.Basic;

        /// <summary>The batch line, last, so that it can say what the item walk found.</summary>
        public readonly void Summary(int resources, int count, string items)
        {
            var services = _services is null ? string.Empty : string.Join(", ", _services);
            if (_llmCalls > 0)
            {
                logger.Information(
                    "{Count} {Items} ({Errors} with status ERROR) in {Resources} resources from {Services}; {LlmCalls} LLM calls, {Tokens} tokens",
                    count, items, _errors, resources, services, _llmCalls, _tokens);
            }
            else if (items == "spans")
            {
                logger.Information("{Count} {Items} ({Errors} with status ERROR) in {Resources} resources from {Services}", count, items, _errors, resources, services);
            }
            else
            {
                logger.Information("{Count} {Items} in {Resources} resources from {Services}", count, items, resources, services);
            }
        }

        public void Resource(Resource? resource, string schemaUrl)
        {
            _service = DebugFormat.ServiceName(resource);
            _services ??= [];
            if (!_services.Contains(_service))
            {
                _services.Add(_service);
            }

            if (Detailed)
            {
                logger.Information("resource {Attributes} schema_url={SchemaUrl}", DebugFormat.Attributes(resource?.Attributes ?? []), schemaUrl);
            }
        }

        public readonly void Scope(InstrumentationScope? scope, string schemaUrl)
        {
            if (Detailed)
            {
                logger.Information("scope {ScopeName} {ScopeVersion}", DebugFormat.OrNone(scope?.Name), scope?.Version ?? string.Empty);
            }
        }

        public void Item(Span span)
        {
            var error = span.Status?.Code == Status.Types.StatusCode.Error;
            if (error)
            {
                _errors++;
            }

            var view = GenAiSpanView.Of(span);
            var genAi = view.IsGenAi;
            var model = genAi ? view.Model() : null;
            var input = genAi ? view.InputTokens() : null;
            var output = genAi ? view.OutputTokens() : null;
            if (genAi && (view.IsLlm || model is not null))
            {
                _llmCalls++;
                _tokens += view.TotalTokens() ?? ((input ?? 0) + (output ?? 0));
            }

            if (Detailed)
            {
                logger.Information(
                    "span {Name} trace_id={TraceId} span_id={SpanId} parent_span_id={ParentSpanId} kind={Kind} start={Start} end={End} duration={Duration} status={Status} attributes={Attributes} events={Events} links={Links}",
                    span.Name, DebugFormat.Hex(span.TraceId), DebugFormat.Hex(span.SpanId), DebugFormat.Hex(span.ParentSpanId), span.Kind,
                    DebugFormat.Time(span.StartTimeUnixNano), DebugFormat.Time(span.EndTimeUnixNano), DebugFormat.Duration(span.StartTimeUnixNano, span.EndTimeUnixNano),
                    DebugFormat.SpanStatus(span.Status), DebugFormat.Attributes(span.Attributes), DebugFormat.Events(span), DebugFormat.Links(span));
                return;
            }

            if (!PerItem)
            {
                return;
            }

            if (model is not null || input is not null || output is not null)
            {
                logger.Information(
                    "span {Name} {Duration} {Status} service={Service} model={Model} tokens={InputTokens} in / {OutputTokens} out trace_id={TraceId}",
                    span.Name, DebugFormat.Duration(span.StartTimeUnixNano, span.EndTimeUnixNano), DebugFormat.SpanStatus(span.Status), _service,
                    DebugFormat.OrNone(model), DebugFormat.Count(input), DebugFormat.Count(output), DebugFormat.Hex(span.TraceId));
                return;
            }

            logger.Information(
                "span {Name} {Duration} {Status} service={Service} trace_id={TraceId}",
                span.Name, DebugFormat.Duration(span.StartTimeUnixNano, span.EndTimeUnixNano), DebugFormat.SpanStatus(span.Status), _service, DebugFormat.Hex(span.TraceId));
        }

        public readonly void Item(Metric metric)
        {
            if (Detailed)
            {
                logger.Information(
                    "metric {Name} {Type} unit={Unit} description={Description} points={Points}",
                    metric.Name, metric.DataCase, metric.Unit, metric.Description, DebugFormat.Points(metric));
            }
            else if (PerItem)
            {
                logger.Information("metric {Name} {Type} service={Service} points={Points}", metric.Name, metric.DataCase, _service, DebugFormat.Points(metric));
            }
        }

        public readonly void Item(LogRecord record)
        {
            if (Detailed)
            {
                logger.Information(
                    "log time={Time} severity={Severity} ({SeverityNumber}) event={EventName} trace_id={TraceId} span_id={SpanId} body={Body} attributes={Attributes}",
                    DebugFormat.Time(record.TimeUnixNano), DebugFormat.Severity(record), (int)record.SeverityNumber, DebugFormat.OrNone(record.EventName),
                    DebugFormat.Hex(record.TraceId), DebugFormat.Hex(record.SpanId), DebugFormat.Value(record.Body), DebugFormat.Attributes(record.Attributes));
            }
            else if (PerItem)
            {
                logger.Information(
                    "log {Severity} service={Service} {Body}{Event}",
                    DebugFormat.Severity(record), _service, DebugFormat.Shortened(DebugFormat.Value(record.Body)),
                    record.EventName.Length == 0 ? string.Empty : " event=" + record.EventName);
            }
        }
    }
}
