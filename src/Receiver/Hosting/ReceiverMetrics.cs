using Collector.Pipeline.Telemetry;

namespace Collector.Receiver.Hosting;

/// <summary>What every receiver registers: per-signal item outcomes by transport, and requests rejected at the door.</summary>
internal static class ReceiverMetrics
{
    public static IEnumerable<MetricInfo> All { get; } =
    [
        new("collector_receiver_accepted_{item}_total", MetricType.Counter, "{items}", "{item} accepted by a receiver and handed to every pipeline", "receiver", "transport"),
        new("collector_receiver_refused_{item}_total", MetricType.Counter, "{items}", "{item} a pipeline refused (the client was told to retry)", "receiver", "transport"),
        new("collector_receiver_rejected_{item}_total", MetricType.Counter, "{items}", "{item} dropped for invalid trace or span ids (reported as partial success)", "receiver", "transport"),
        new("collector_receiver_rejected_requests_total", MetricType.Counter, "{requests}", "Requests a receiver rejected before they reached a pipeline, by reason", "receiver", "transport", "reason"),
    ];
}
