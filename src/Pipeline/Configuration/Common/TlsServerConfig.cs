namespace Collector.Pipeline.Configuration.Common;

/// <summary>tls: for servers (receivers): the certificate they present. Absent means plaintext.</summary>
internal sealed class TlsServerConfig : IValidatable
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
