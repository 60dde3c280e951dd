using System.Globalization;
using System.Text;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Debug;

/// <summary>Read-only text renderings of OTLP values for the debug exporter's log lines.</summary>
internal static class DebugFormat
{
    /// <summary>What a resource without <c>service.name</c> is called, as the OpenTelemetry SDKs call it.</summary>
    public const string UnknownService = "unknown_service";

    /// <summary>Log bodies longer than this are cut in the one-line (normal) form; detailed shows them whole.</summary>
    private const int ShortBodyChars = 120;

    public static string ServiceName(OpenTelemetry.Proto.Resource.V1.Resource? resource)
    {
        if (resource is not null)
        {
            foreach (var attribute in resource.Attributes)
            {
                if (attribute.Key == "service.name" && attribute.Value?.StringValue is { Length: > 0 } name)
                {
                    return name;
                }
            }
        }

        return UnknownService;
    }

    /// <summary>"-" for a missing text, so a line never reads "null" or has a silent gap.</summary>
    public static string OrNone(string? text) => string.IsNullOrEmpty(text) ? "-" : text;

    public static string Count(long? count) => count?.ToString(CultureInfo.InvariantCulture) ?? "-";

    /// <summary>"OK", "UNSET", or "ERROR" plus the message when there is one.</summary>
    public static string SpanStatus(Status? status) => status?.Code switch
    {
        null or Status.Types.StatusCode.Unset => "UNSET",
        Status.Types.StatusCode.Ok => "OK",
        _ => string.IsNullOrEmpty(status.Message) ? "ERROR" : $"ERROR ({status.Message})",
    };

    /// <summary>End minus start in the unit a person reads best: "850 µs", "12.3 ms", "2.41 s"; "-" when a time is missing or reversed.</summary>
    public static string Duration(ulong startUnixNanos, ulong endUnixNanos)
    {
        if (startUnixNanos == 0 || endUnixNanos < startUnixNanos)
        {
            return "-";
        }

        var nanos = endUnixNanos - startUnixNanos;
        return nanos switch
        {
            < 1_000UL => $"{nanos} ns",
            < 1_000_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e3:0.#} µs"),
            < 1_000_000_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e6:0.#} ms"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e9:0.##} s"),
        };
    }

    /// <summary>The severity text, else the severity number's name (SDKs often send only one), else "-".</summary>
    public static string Severity(OpenTelemetry.Proto.Logs.V1.LogRecord record) =>
        record.SeverityText.Length > 0 ? record.SeverityText
        : record.SeverityNumber != OpenTelemetry.Proto.Logs.V1.SeverityNumber.Unspecified ? SeverityName(record.SeverityNumber)
        : "-";

    public static string Shortened(string text) => text.Length <= ShortBodyChars ? text : string.Concat(text.AsSpan(0, ShortBodyChars), "…");

    // The generated enum drops the SEVERITY_NUMBER_ prefix (Warn2): upper case gives the spec's short name (WARN2).
    private static string SeverityName(OpenTelemetry.Proto.Logs.V1.SeverityNumber number) => number.ToString().ToUpperInvariant();

    public static string Hex(ByteString id) => id.IsEmpty ? string.Empty : Convert.ToHexStringLower(id.Span);

    public static string Time(ulong unixNanos) =>
        unixNanos == 0 ? string.Empty : DateTimeOffset.UnixEpoch.AddTicks((long)(unixNanos / 100)).ToString("O", CultureInfo.InvariantCulture);

    public static string Attributes(RepeatedField<KeyValue> attributes)
    {
        if (attributes.Count == 0)
        {
            return "{}";
        }

        var sb = new StringBuilder();
        AppendAttributes(sb, attributes);
        return sb.ToString();
    }

    public static void AppendAttributes(StringBuilder sb, RepeatedField<KeyValue> attributes)
    {
        sb.Append('{');
        for (var i = 0; i < attributes.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(attributes[i].Key).Append('=');
            AppendValue(sb, attributes[i].Value);
        }

        sb.Append('}');
    }

    public static string Value(AnyValue? value)
    {
        var sb = new StringBuilder();
        AppendValue(sb, value);
        return sb.ToString();
    }

    public static void AppendValue(StringBuilder sb, AnyValue? value)
    {
        if (value is null)
        {
            return;
        }

        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                sb.Append(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                sb.Append(value.BoolValue ? "true" : "false");
                break;
            case AnyValue.ValueOneofCase.IntValue:
                sb.Append(value.IntValue.ToString(CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                sb.Append(value.DoubleValue.ToString("R", CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                sb.Append("0x").Append(Convert.ToHexStringLower(value.BytesValue.Span));
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                sb.Append('[');
                var values = value.ArrayValue.Values;
                for (var i = 0; i < values.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    AppendValue(sb, values[i]);
                }

                sb.Append(']');
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                AppendAttributes(sb, value.KvlistValue.Values);
                break;
            default:
                break;
        }
    }

    public static string Events(Span span) => List(span.Events, static e => $"{e.Name}@{Time(e.TimeUnixNano)} {Attributes(e.Attributes)}");

    public static string Links(Span span) => List(span.Links, static l => $"{Hex(l.TraceId)}/{Hex(l.SpanId)} {Attributes(l.Attributes)}");

    private static string List<TElement>(RepeatedField<TElement> elements, Func<TElement, string> format)
    {
        var parts = new string[elements.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = format(elements[i]);
        }

        return "[" + string.Join("; ", parts) + "]";
    }

    /// <summary>Every data point as "{attributes} value", separated by "; ".</summary>
    public static string Points(Metric metric)
    {
        var points = new PointText(new StringBuilder());
        MetricPoints.Visit(metric, ref points);
        return points.Text.ToString();
    }

    private readonly struct PointText(StringBuilder text) : IDataPointVisitor
    {
        public StringBuilder Text => text;

        public void Point(NumberDataPoint point)
        {
            Begin(point.Attributes).Append(' ');
            if (point.ValueCase == NumberDataPoint.ValueOneofCase.AsDouble)
            {
                text.Append(point.AsDouble.ToString("R", CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(point.AsInt.ToString(CultureInfo.InvariantCulture));
            }
        }

        /// <summary>Each bucket with its upper bound (<c>le</c>, as Prometheus shows it): <c>buckets={&lt;=5: 1, &lt;=10: 2, &gt;10: 0}</c>.</summary>
        public void Point(HistogramDataPoint point)
        {
            Begin(point.Attributes).Append(CultureInfo.InvariantCulture, $" count={point.Count} sum={point.Sum:R} buckets={{");
            var bounds = point.ExplicitBounds;
            for (var i = 0; i < point.BucketCounts.Count; i++)
            {
                if (i > 0)
                {
                    text.Append(", ");
                }

                if (i < bounds.Count)
                {
                    text.Append(CultureInfo.InvariantCulture, $"<={bounds[i]:R}: {point.BucketCounts[i]}");
                }
                else if (bounds.Count > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $">{bounds[^1]:R}: {point.BucketCounts[i]}");
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $"all: {point.BucketCounts[i]}");
                }
            }

            text.Append('}');
        }

        public void Point(ExponentialHistogramDataPoint point) =>
            Begin(point.Attributes).Append(CultureInfo.InvariantCulture, $" count={point.Count} sum={point.Sum:R} scale={point.Scale}");

        public void Point(SummaryDataPoint point) =>
            Begin(point.Attributes).Append(CultureInfo.InvariantCulture, $" count={point.Count} sum={point.Sum:R}");

        /// <summary>The separator from the previous point, then this point's attributes.</summary>
        private StringBuilder Begin(RepeatedField<KeyValue> attributes)
        {
            if (text.Length > 0)
            {
                text.Append("; ");
            }

            AppendAttributes(text, attributes);
            return text;
        }
    }
}
