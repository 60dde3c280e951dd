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

        public void Point(HistogramDataPoint point) =>
            Begin(point.Attributes).Append(CultureInfo.InvariantCulture, $" count={point.Count} sum={point.Sum:R} buckets=[{string.Join(',', point.BucketCounts)}]");

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
