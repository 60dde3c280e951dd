namespace Collector.Pipeline.Configuration.Common;

/// <summary>Size limits written in MiB (max_recv_msg_size_mib, max_request_body_size_mib).</summary>
internal static class SizeLimit
{
    /// <summary>Upper bound for the size limits: buffers are single arrays indexed by int.</summary>
    public const int MaxMib = 1024;

    public const int BytesPerMib = 1024 * 1024;

    /// <param name="errors">At the key's path.</param>
    public static void ValidateMib(int mib, ConfigErrors errors)
    {
        if (mib is <= 0 or > MaxMib)
        {
            errors.Add($"must be between 1 and {MaxMib}, got {mib}");
        }
    }
}
