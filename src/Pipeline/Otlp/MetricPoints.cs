using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Metrics.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>Called once per data point of one kind; see <see cref="IDataPointVisitor"/>.</summary>
internal interface IDataPointVisitor<in TPoint>
{
    void Point(TPoint point);
}

/// <summary>
/// Called once per data point of a metric, with the point's own type (gauges and sums share
/// <see cref="NumberDataPoint"/>); a struct passed by ref, as <see cref="IOtlpVisitor{TItem}"/>.
/// </summary>
internal interface IDataPointVisitor
    : IDataPointVisitor<NumberDataPoint>, IDataPointVisitor<HistogramDataPoint>,
      IDataPointVisitor<ExponentialHistogramDataPoint>, IDataPointVisitor<SummaryDataPoint>;

/// <summary>A metric's data points, whatever its kind: the one switch over <see cref="Metric.DataCase"/>.</summary>
internal static class MetricPoints
{
    public static int Count(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        Metric.DataOneofCase.ExponentialHistogram => metric.ExponentialHistogram.DataPoints.Count,
        Metric.DataOneofCase.Summary => metric.Summary.DataPoints.Count,
        _ => 0,
    };

    /// <summary>Visits the points in order (a metric without data has none); returns how many it visited.</summary>
    public static int Visit<TVisitor>(Metric metric, ref TVisitor visitor)
        where TVisitor : struct, IDataPointVisitor => metric.DataCase switch
        {
            Metric.DataOneofCase.Gauge => VisitAll(metric.Gauge.DataPoints, ref visitor),
            Metric.DataOneofCase.Sum => VisitAll(metric.Sum.DataPoints, ref visitor),
            Metric.DataOneofCase.Histogram => VisitAll(metric.Histogram.DataPoints, ref visitor),
            Metric.DataOneofCase.ExponentialHistogram => VisitAll(metric.ExponentialHistogram.DataPoints, ref visitor),
            Metric.DataOneofCase.Summary => VisitAll(metric.Summary.DataPoints, ref visitor),
            _ => 0,
        };

    private static int VisitAll<TPoint, TVisitor>(RepeatedField<TPoint> points, ref TVisitor visitor)
        where TVisitor : struct, IDataPointVisitor<TPoint>
    {
        for (var i = 0; i < points.Count; i++)
        {
            visitor.Point(points[i]);
        }

        return points.Count;
    }
}
