using System.IO.Compression;
using Grpc.Core;
using Collector.Receiver.Hosting;
using Grpc.Net.Compression;

namespace Collector.Receiver.Otlp;

/// <summary>
/// grpc-dotnet's gzip, except that a message that is not gzip data fails the call with
/// INVALID_ARGUMENT: grpc-dotnet answers a decoder exception as UNKNOWN "Exception was thrown by
/// handler" and logs its stack trace at error, for what is only a broken client.
/// </summary>
internal sealed class GrpcGzipProvider : ICompressionProvider
{
    public string EncodingName => "gzip";

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        new GZipStream(stream, compressionLevel ?? CompressionLevel.Fastest, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream stream) => new CorruptDataAsInvalidArgument(new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true));

    /// <summary>Reads through <paramref name="inner"/>, turning its <see cref="InvalidDataException"/> into the call's status.</summary>
    private sealed class CorruptDataAsInvalidArgument(Stream inner) : ReadOnlyPassThroughStream
    {
        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (InvalidDataException)
            {
                throw Corrupt();
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException)
            {
                throw Corrupt();
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private static RpcException Corrupt() =>
            new(new Status(StatusCode.InvalidArgument, "grpc-encoding is gzip but the message is not valid gzip data"));
    }
}
