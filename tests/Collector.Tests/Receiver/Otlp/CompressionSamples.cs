using System.IO.Compression;

namespace Collector.Tests.Receiver;

internal static class CompressionSamples
{
    public const long BombSize = 1L << 30;

    private static readonly Lazy<byte[]> LazyBomb = new(() => Gzip(BombSize));

    /// <summary>1 GiB of zeros as one gzip member (~1 MB), streamed so the test never holds the 1 GiB.</summary>
    public static byte[] GzipBomb => LazyBomb.Value;

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Zlib(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] RawDeflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal))
        {
            deflate.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Gzip(long zeros)
    {
        var chunk = new byte[1 << 20];
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            for (long written = 0; written < zeros; written += chunk.Length)
            {
                gzip.Write(chunk);
            }
        }

        return output.ToArray();
    }
}
