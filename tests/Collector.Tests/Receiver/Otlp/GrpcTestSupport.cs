using System.IO.Compression;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Compression;

namespace Collector.Tests.Receiver;

/// <summary>Raw gRPC calls: arbitrary bytes as the message, optionally already gzip-compressed.</summary>
internal static class GrpcTestSupport
{
    public const string TraceService = "opentelemetry.proto.collector.trace.v1.TraceService";

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create<byte[]>(static b => b, static b => b);

    public static Method<byte[], byte[]> RawExport(string service = TraceService) =>
        new(MethodType.Unary, service, "Export", Bytes, Bytes);

    /// <summary>Makes the client send the call compressed with gzip (grpc-dotnet's request compression switch).</summary>
    public static Metadata GzipRequestHeaders() => new() { { "grpc-internal-encoding-request", "gzip" } };

    /// <summary>
    /// A client-side "gzip" provider that writes the message bytes unchanged: the message handed to
    /// the call is already a gzip stream, so the wire carries exactly those bytes, flagged compressed.
    /// </summary>
    public sealed class PrecompressedGzipProvider : ICompressionProvider
    {
        public string EncodingName => "gzip";

        public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) => new PassThrough(stream);

        public Stream CreateDecompressionStream(Stream stream) => new GZipStream(stream, CompressionMode.Decompress);
    }

    /// <summary>google.rpc.Status bytes -> (code, message, details as (type_url, value)).</summary>
    public static (int Code, string Message, List<(string TypeUrl, ByteString Value)> Details) ParseStatus(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        var code = 0;
        var message = string.Empty;
        var details = new List<(string, ByteString)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: code = input.ReadInt32(); break;
                case 2: message = input.ReadString(); break;
                case 3:
                    var any = Google.Protobuf.WellKnownTypes.Any.Parser.ParseFrom(input.ReadBytes());
                    details.Add((any.TypeUrl, any.Value));
                    break;
                default: input.SkipLastField(); break;
            }
        }

        return (code, message, details);
    }

    /// <summary>The delay of a google.rpc.RetryInfo detail (retry_delay = 1, a Duration).</summary>
    public static TimeSpan RetryDelay(ByteString retryInfo)
    {
        var input = retryInfo.CreateCodedInput();
        Assert.That(WireFormat.GetTagFieldNumber(input.ReadTag()), Is.EqualTo(1));
        return Google.Protobuf.WellKnownTypes.Duration.Parser.ParseFrom(input.ReadBytes()).ToTimeSpan();
    }

    private sealed class PassThrough(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    }
}
