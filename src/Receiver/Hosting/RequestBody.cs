using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace Collector.Receiver.Hosting;

/// <summary>A request body read into a pooled array; dispose to return it.</summary>
internal readonly struct PooledBody(byte[] array, int length) : IDisposable
{
    public ReadOnlySpan<byte> Span => array.AsSpan(0, length);

    public int Length => length;

    public void Dispose() => ArrayPool<byte>.Shared.Return(array);
}

/// <summary>How reading a request body ended.</summary>
internal enum BodyReadStatus
{
    /// <summary>Read completely; <see cref="BodyRead.Body"/> holds it.</summary>
    Ok,

    /// <summary>Larger than the limit, on the wire or after decompression (answer 413).</summary>
    TooLarge,

    /// <summary>Content-Encoding not supported (answer 415).</summary>
    UnsupportedEncoding,

    /// <summary>Corrupt or truncated compression, or a malformed request stream such as an overflowing chunk size (answer 400).</summary>
    Unreadable,

    /// <summary>The body arrived slower than Kestrel's minimum data rate (answer 408).</summary>
    TooSlow,
}

/// <summary>A request body, or why there is none; dispose <see cref="Body"/> when set.</summary>
internal readonly record struct BodyRead(BodyReadStatus Status, PooledBody? Body = null);

/// <summary>
/// Reads request bodies with the size limit applied after decompression and enforced while
/// decompressing, so that a small compressed body (gzip bomb) never allocates past the limit.
/// </summary>
internal static class RequestBody
{
    private const int MinInitialBuffer = 16 * 1024;

    /// <summary>
    /// The whole body of <paramref name="request"/>, decoded per its Content-Encoding, bounded by
    /// <paramref name="limit"/> bytes after decompression. Kestrel's own wire-size cap (when set to
    /// the same limit) is reported as <see cref="BodyReadStatus.TooLarge"/> too.
    /// Not cancellable on purpose: a read cancelled through <c>RequestAborted</c> leaves Kestrel's
    /// HTTP/1.1 body reader "in progress", and its drain then logs an error with a stack trace for
    /// every client that went away. Kestrel fails the read itself when the connection is gone, and
    /// the minimum data rate bounds a client that stays but stalls.
    /// </summary>
    public static async ValueTask<BodyRead> ReadAsync(HttpRequest request, int limit)
    {
        Stream? decoded = null;
        try
        {
            decoded = await OpenDecodedAsync(request, CancellationToken.None).ConfigureAwait(false);
            if (decoded is null)
            {
                return new BodyRead(BodyReadStatus.UnsupportedEncoding);
            }

            var body = await ReadBoundedAsync(decoded, limit, request.ContentLength, CancellationToken.None).ConfigureAwait(false);
            if (body is { } read && decoded is GZipStream { BaseStream: GzipTrailerCheck trailer } && !trailer.Matches(read.Length))
            {
                // GZipStream ends quietly when the input stops inside the 8-byte trailer; the body is cut short.
                read.Dispose();
                return new BodyRead(BodyReadStatus.Unreadable);
            }

            return body is null ? new BodyRead(BodyReadStatus.TooLarge) : new BodyRead(BodyReadStatus.Ok, body);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new BodyRead(BodyReadStatus.TooLarge);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            return new BodyRead(BodyReadStatus.TooSlow);
        }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException
            || (e is IOException && !request.HttpContext.RequestAborted.IsCancellationRequested))
        {
            // Kestrel reports a chunk size that overflows (FFFFFFFFFFFFFFFF) as a plain IOException;
            // one raised after the client went away is its disconnect, which the caller logs as such.
            return new BodyRead(BodyReadStatus.Unreadable);
        }
        finally
        {
            if (decoded is not null && !ReferenceEquals(decoded, request.Body))
            {
                await decoded.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The body decoded per Content-Encoding (gzip, deflate, identity/none), or null when the
    /// encoding is not supported. "deflate" accepts both zlib-wrapped (RFC 1950, what the header
    /// means) and raw deflate (what many clients send), told apart by the zlib header.
    /// </summary>
    public static async ValueTask<Stream?> OpenDecodedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding;
        if (encoding.Count > 1)
        {
            return null;
        }

        var name = encoding.Count == 0 ? string.Empty : (encoding[0] ?? string.Empty).Trim();
        if (name.Length == 0 || name.Equals("identity", StringComparison.OrdinalIgnoreCase) || name.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return request.Body;
        }

        if (name.Equals("gzip", StringComparison.OrdinalIgnoreCase) || name.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
        {
            return new GZipStream(new GzipTrailerCheck(request.Body), CompressionMode.Decompress, leaveOpen: true);
        }

        if (name.Equals("deflate", StringComparison.OrdinalIgnoreCase))
        {
            var reader = request.BodyReader;
            var peek = await reader.ReadAtLeastAsync(2, cancellationToken).ConfigureAwait(false);
            var zlib = IsZlibHeader(peek.Buffer);
            reader.AdvanceTo(peek.Buffer.Start);
            var body = reader.AsStream(leaveOpen: true);
            return zlib ? new ZLibStream(body, CompressionMode.Decompress) : new DeflateStream(body, CompressionMode.Decompress);
        }

        return null;
    }

    /// <summary>
    /// Reads <paramref name="source"/> to its end into a pooled buffer. Returns null as soon as more
    /// than <paramref name="limit"/> bytes arrive (at most limit+1 bytes are ever buffered).
    /// Decoder errors (<see cref="InvalidDataException"/>) and Kestrel's
    /// <see cref="Microsoft.AspNetCore.Http.BadHttpRequestException"/> propagate.
    /// </summary>
    public static async ValueTask<PooledBody?> ReadBoundedAsync(Stream source, int limit, long? lengthHint, CancellationToken cancellationToken)
    {
        var cap = limit + 1;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(lengthHint ?? MinInitialBuffer, MinInitialBuffer, cap));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * buffer.Length, cap));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }

                var read = await source.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, cap) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return new PooledBody(buffer, length);
                }

                length += read;
                if (length > limit)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static bool IsZlibHeader(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < 2)
        {
            return false;
        }

        Span<byte> head = stackalloc byte[2];
        buffer.Slice(0, 2).CopyTo(head);
        // RFC 1950: compression method 8 (deflate), window <= 32K, header checksum divisible by 31.
        return (head[0] & 0x0F) == 8 && head[0] >> 4 <= 7 && ((head[0] << 8) | head[1]) % 31 == 0;
    }
}

/// <summary>
/// Passes a gzip body through while keeping its last 4 bytes: the trailer's ISIZE (RFC 1952, the
/// decompressed length mod 2^32), which .NET's GZipStream never checks, so a body cut anywhere in
/// its trailer would be accepted. A multi-member body is judged by its last member's ISIZE, so
/// concatenated members are refused (no OTLP client sends them).
/// </summary>
internal sealed class GzipTrailerCheck(Stream inner) : ReadOnlyPassThroughStream
{
    private uint _tail;
    private long _total;

    /// <summary>True when the body ended with a complete trailer whose ISIZE is <paramref name="decompressedLength"/>.</summary>
    public bool Matches(long decompressedLength) => _total >= 18 && _tail == (uint)decompressedLength;

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Remember(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Remember(buffer.Span[..read]);
        return read;
    }

    private void Remember(ReadOnlySpan<byte> data)
    {
        _total += data.Length;
        var start = Math.Max(0, data.Length - 4);
        for (var i = start; i < data.Length; i++)
        {
            // Little-endian: the newest byte is the most significant of the last four.
            _tail = (_tail >> 8) | ((uint)data[i] << 24);
        }
    }
}
