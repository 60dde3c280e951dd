using Collector.Pipeline;
using Collector.Pipeline.Telemetry;

namespace Collector.Receiver.Hosting;

/// <summary>collector_receiver_rejected_requests_total{receiver, transport, reason}: requests answered with a client error.</summary>
internal sealed class RejectionCounter(SelfMetrics metrics, ComponentId receiver)
{
    private const string Name = "collector_receiver_rejected_requests_total";
    private const string Help = "Requests a receiver rejected before they reached a pipeline, by reason";
    private readonly string _receiver = receiver.ToString();

    /// <summary>Reasons: too_large, bad_content_type, bad_content_encoding, decode, too_deep, out_of_memory, unauthenticated, not_found, method_not_allowed, too_slow, client_disconnected.</summary>
    public void Count(Transport transport, string reason) =>
        metrics.Counter(Name, Help, ("receiver", _receiver), ("transport", transport == Transport.Grpc ? "grpc" : "http"), ("reason", reason)).Increment();
}
