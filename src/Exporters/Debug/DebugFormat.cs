using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;

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

    public static int PointCount(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        Metric.DataOneofCase.ExponentialHistogram => metric.ExponentialHistogram.DataPoints.Count,
        Metric.DataOneofCase.Summary => metric.Summary.DataPoints.Count,
        _ => 0,
    };

    /// <summary>Every data point as "{attributes} value", separated by "; ".</summary>
    public static string Points(Metric metric)
    {
        var sb = new StringBuilder();
        switch (metric.DataCase)
        {
            case Metric.DataOneofCase.Gauge:
                AppendNumberPoints(sb, metric.Gauge.DataPoints);
                break;
            case Metric.DataOneofCase.Sum:
                AppendNumberPoints(sb, metric.Sum.DataPoints);
                break;
            case Metric.DataOneofCase.Histogram:
                foreach (var p in metric.Histogram.DataPoints)
                {
                    Separate(sb);
                    AppendAttributes(sb, p.Attributes);
                    sb.Append(CultureInfo.InvariantCulture, $" count={p.Count} sum={p.Sum:R} buckets=[{string.Join(',', p.BucketCounts)}]");
                }

                break;
            case Metric.DataOneofCase.ExponentialHistogram:
                foreach (var p in metric.ExponentialHistogram.DataPoints)
                {
                    Separate(sb);
                    AppendAttributes(sb, p.Attributes);
                    sb.Append(CultureInfo.InvariantCulture, $" count={p.Count} sum={p.Sum:R} scale={p.Scale}");
                }

                break;
            case Metric.DataOneofCase.Summary:
                foreach (var p in metric.Summary.DataPoints)
                {
                    Separate(sb);
                    AppendAttributes(sb, p.Attributes);
                    sb.Append(CultureInfo.InvariantCulture, $" count={p.Count} sum={p.Sum:R}");
                }

                break;
            default:
                break;
        }

        return sb.ToString();
    }

    private static void AppendNumberPoints(StringBuilder sb, RepeatedField<NumberDataPoint> points)
    {
        foreach (var p in points)
        {
            Separate(sb);
            AppendAttributes(sb, p.Attributes);
            sb.Append(' ');
            if (p.ValueCase == NumberDataPoint.ValueOneofCase.AsDouble)
            {
                sb.Append(p.AsDouble.ToString("R", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(p.AsInt.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    private static void Separate(StringBuilder sb)
    {
        if (sb.Length > 0)
        {
            sb.Append("; ");
        }
    }
}
