using Google.Protobuf;

namespace Collector.Pipeline.Spool;

/// <summary>Reads a spooled row back as a batch: the exporter spool's replay and a durable door's replay share it.</summary>
internal static class SpooledBatch<T>
    where T : class, IMessage<T>
{
    /// <summary>
    /// The row's batch (received at the row's creation time): its bytes as they were spooled (no decode
    /// and re-encode) when the wire scan vouches for them, else decoded as a fresh request would be.
    /// Null, with the parser's message, when the payload does not parse.
    /// </summary>
    public static Batch<T>? Read(SpoolEntry entry, out string? error)
    {
        error = null;
        Batch<T> batch;
        if (Otlp.OtlpWireScanner.TryScan(entry.Signal, entry.Payload, out _))
        {
            batch = Batch<T>.FromEncoded(entry.Payload, entry.ItemCount, entry.Payload.Length, null);
        }
        else
        {
            try
            {
                batch = new Batch<T>(SignalOps<T>.Instance.ParseRequest(entry.Payload), entry.ItemCount, entry.Payload.Length);
            }
            catch (InvalidProtocolBufferException e)
            {
                error = e.Message;
                return null;
            }
        }

        batch.ReceivedAt = entry.CreatedAt;
        return batch;
    }
}
