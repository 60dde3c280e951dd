using Collector.Pipeline.Configuration;

namespace Collector.Exporters.Shared;

/// <summary>compression: YAML gzip | none.</summary>
internal enum OtlpCompression
{
    Gzip,
    None,
}

/// <summary>encoding: YAML proto | json.</summary>
internal enum OtlpEncoding
{
    Proto,
    Json,
}

/// <summary>Checks shared by the OTLP exporters' configs.</summary>
internal static class ExporterValidation
{
    /// <summary>Header names only (values carry tokens and never appear in errors).</summary>
    public static void ValidateHeaders(IReadOnlyDictionary<string, string> headers, ConfigErrors errors, bool grpcMetadata)
    {
        foreach (var (key, value) in headers)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                errors.Add("headers", "a header name is empty");
                continue;
            }

            if (!IsToken(key, grpcMetadata))
            {
                errors.Add("headers", grpcMetadata
                    ? $"'{key}' is not a valid gRPC metadata key (letters, digits, '-', '_', '.')"
                    : $"'{key}' is not a valid HTTP header name");
            }
            else if (grpcMetadata && (key.EndsWith("-bin", StringComparison.OrdinalIgnoreCase) || key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add("headers", $"'{key}': binary (-bin) and reserved (grpc-) metadata keys are not supported");
            }

            if (value is null || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                errors.Add("headers", $"the value of '{key}' is missing or contains a line break");
            }
        }
    }

    public static void ValidateEnums(OtlpCompression compression, OtlpEncoding? encoding, ConfigErrors errors)
    {
        if (!Enum.IsDefined(compression))
        {
            errors.Add("compression", "must be gzip or none");
        }

        if (encoding is { } e && !Enum.IsDefined(e))
        {
            errors.Add("encoding", "must be proto or json");
        }
    }

    /// <summary>RFC 9110 token characters; gRPC metadata keys are narrower.</summary>
    private static bool IsToken(string key, bool grpcMetadata)
    {
        foreach (var c in key)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'
                || (!grpcMetadata && c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '^' or '`' or '|' or '~');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
