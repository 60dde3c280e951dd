using System.Net;

namespace Collector.Pipeline.Configuration;

/// <summary>Listen/connect addresses in the OpenTelemetry Collector's <c>host:port</c> form.</summary>
public static class Endpoint
{
    /// <summary>Parses <c>host:port</c> (IPv6 in brackets); port 0 asks the OS for a free one.</summary>
    public static bool TryParseHostPort(string? text, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        host = text[..colon].Trim('[', ']');
        return host.Length > 0
            && int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            && port is >= 0 and <= 65535;
    }

    /// <summary>The address to bind: "localhost" binds loopback, "0.0.0.0"/"::" any, otherwise an IP literal.</summary>
    public static IPAddress ResolveBindAddress(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "0.0.0.0" or "*" or "" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        _ => IPAddress.TryParse(host, out var ip) ? ip : throw new FormatException($"'{host}' is not an IP address"),
    };

    public static void ValidateListen(string? endpoint, ConfigErrors errors)
    {
        if (!TryParseHostPort(endpoint, out var host, out _))
        {
            errors.Add($"'{endpoint}' is not a valid endpoint (expected host:port)");
            return;
        }

        if (host != "localhost" && host != "*" && !IPAddress.TryParse(host, out _))
        {
            errors.Add($"'{endpoint}': listen host must be localhost or an IP address");
        }
    }

    /// <summary>Exporter targets: an absolute http(s) URL, or host:port (taken as http://host:port).</summary>
    public static bool TryParseTarget(string? endpoint, bool defaultTls, out Uri uri)
    {
        uri = null!;
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return false;
        }

        if (endpoint.Contains("://", StringComparison.Ordinal))
        {
            return Uri.TryCreate(endpoint, UriKind.Absolute, out uri!)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                && uri.Host.Length > 0;
        }

        return TryParseHostPort(endpoint, out _, out var port) && port > 0
            && Uri.TryCreate((defaultTls ? "https://" : "http://") + endpoint, UriKind.Absolute, out uri!);
    }
}
