using Collector.Pipeline.Configuration;

namespace Collector.Receiver.Otlp;

/// <summary>Config of the <c>otlp</c> receiver; a protocol is enabled when its key is present.</summary>
internal sealed class OtlpReceiverConfig : ComponentConfig
{
    /// <summary>Upper bound for the size limits: buffers are single arrays indexed by int.</summary>
    internal const int MaxSizeMib = 1024;

    public ProtocolsConfig Protocols { get; set; } = new();

    /// <summary>Optional bearer-token check shared by both protocols.</summary>
    public AuthConfig? Auth { get; set; }

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
            ValidateSize(grpc.MaxRecvMsgSizeMib, at.At("max_recv_msg_size_mib"));
            grpc.Tls?.Validate(at.At("tls"));
        }

        if (Protocols.Http is { } http)
        {
            var at = protocols.At("http");
            Endpoint.ValidateListen(http.Endpoint, at.At("endpoint"));
            ValidateSize(http.MaxRequestBodySizeMib, at.At("max_request_body_size_mib"));
            http.Tls?.Validate(at.At("tls"));
        }

        if (Protocols is { Grpc: { } g, Http: { } h }
            && Endpoint.TryParseHostPort(g.Endpoint, out var gHost, out var gPort)
            && Endpoint.TryParseHostPort(h.Endpoint, out var hHost, out var hPort)
            && gPort != 0 && gPort == hPort && gHost == hHost)
        {
            protocols.Add($"grpc and http cannot share the endpoint '{g.Endpoint}'");
        }

        Auth?.Validate(errors.At("auth"));
    }

    private static void ValidateSize(int mib, ConfigErrors errors)
    {
        if (mib is <= 0 or > MaxSizeMib)
        {
            errors.Add($"must be between 1 and {MaxSizeMib}, got {mib}");
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

        public TlsConfig? Tls { get; set; }
    }

    public sealed class HttpConfig
    {
        public string Endpoint { get; set; } = "localhost:4318";

        /// <summary>Largest accepted body after decompression (and on the wire).</summary>
        public int MaxRequestBodySizeMib { get; set; } = 20;

        public TlsConfig? Tls { get; set; }
    }

    public sealed class TlsConfig
    {
        /// <summary>PEM certificate (chain) file.</summary>
        public string CertFile { get; set; } = string.Empty;

        /// <summary>PEM private key file.</summary>
        public string KeyFile { get; set; } = string.Empty;

        public void Validate(ConfigErrors errors)
        {
            ValidateFile(CertFile, errors.At("cert_file"));
            ValidateFile(KeyFile, errors.At("key_file"));
        }

        private static void ValidateFile(string path, ConfigErrors errors)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                errors.Add("is required");
            }
            else if (!File.Exists(path))
            {
                errors.Add($"file '{path}' does not exist");
            }
        }
    }

    public sealed class AuthConfig
    {
        /// <summary>Accepted tokens for <c>Authorization: Bearer &lt;token&gt;</c>; any one matches.</summary>
        public List<string> BearerTokens { get; set; } = [];

        public void Validate(ConfigErrors errors)
        {
            var tokens = errors.At("bearer_tokens");
            if (BearerTokens.Count == 0)
            {
                tokens.Add("must list at least one token when auth is configured");
            }

            for (var i = 0; i < BearerTokens.Count; i++)
            {
                // The index, never the value: tokens are secrets.
                if (string.IsNullOrWhiteSpace(BearerTokens[i]) || BearerTokens[i].AsSpan().ContainsAny(" \t\r\n"))
                {
                    tokens.Add($"token #{i + 1} is empty or contains whitespace");
                }
            }
        }
    }
}
