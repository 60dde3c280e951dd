using Collector.Pipeline.Configuration;
using Collector.Pipeline.Configuration.Common;

namespace Collector.Receiver.Otlp;

/// <summary>Config of the <c>otlp</c> receiver; a protocol is enabled when its key is present.</summary>
internal sealed class OtlpReceiverConfig : ComponentConfig
{
    public ProtocolsConfig Protocols { get; set; } = new();

    /// <summary>Optional bearer-token check shared by both protocols.</summary>
    public BearerTokenAuthConfig? Auth { get; set; }

    public override void Validate(ConfigErrors errors)
    {
        var protocols = errors.At("protocols");
        if (Protocols.Grpc is null && Protocols.Http is null)
        {
            protocols.Add("at least one of grpc, http must be configured");
        }

        if (Protocols.Grpc is { } grpc)
        {
            var at = protocols.At("grpc");
            Endpoint.ValidateListen(grpc.Endpoint, at.At("endpoint"));
            SizeLimit.ValidateMib(grpc.MaxRecvMsgSizeMib, at.At("max_recv_msg_size_mib"));
            if (grpc.MaxConcurrentStreams < 1)
            {
                at.Add("max_concurrent_streams", "must be at least 1");
            }
        }

        if (Protocols.Http is { } http)
        {
            var at = protocols.At("http");
            Endpoint.ValidateListen(http.Endpoint, at.At("endpoint"));
            SizeLimit.ValidateMib(http.MaxRequestBodySizeMib, at.At("max_request_body_size_mib"));
            http.MinBodyRate.Validate(at.At("min_body_rate"));
        }

        if (Protocols is { Grpc: { } g, Http: { } h }
            && Endpoint.TryParseHostPort(g.Endpoint, out var gHost, out var gPort)
            && Endpoint.TryParseHostPort(h.Endpoint, out var hHost, out var hPort)
            && gPort != 0 && gPort == hPort && gHost == hHost)
        {
            protocols.Add($"grpc and http cannot share the endpoint '{g.Endpoint}'");
        }
    }

    public sealed class ProtocolsConfig
    {
        public GrpcConfig? Grpc { get; set; }

        public HttpConfig? Http { get; set; }
    }

    public sealed class GrpcConfig
    {
        public string Endpoint { get; set; } = "localhost:4317";

        /// <summary>Largest accepted message, compressed on the wire and after decompression.</summary>
        public int MaxRecvMsgSizeMib { get; set; } = 16;

        /// <summary>
        /// HTTP/2 streams one connection may have open at once (Kestrel's default). Streams a client
        /// reset still count until their handler finished, which is what bounds a rapid-reset flood.
        /// </summary>
        public int MaxConcurrentStreams { get; set; } = 100;

        public TlsServerConfig? Tls { get; set; }
    }

    public sealed class HttpConfig
    {
        public string Endpoint { get; set; } = "localhost:4318";

        /// <summary>Largest accepted body after decompression (and on the wire).</summary>
        public int MaxRequestBodySizeMib { get; set; } = 20;

        public TlsServerConfig? Tls { get; set; }

        /// <summary>Slowest body accepted (408 below it).</summary>
        public Hosting.MinBodyRateConfig MinBodyRate { get; set; } = new();
    }
}
