using System.Buffers.Binary;
using System.Net;
using Grpc.AspNetCore.Server.Model;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Collector.LoadGen;

/// <summary>
/// The backend the collector exports to: OTLP/gRPC on loopback, recording every span id it receives.
/// Requests stay raw bytes and only the span ids are read from the wire: decoding whole messages
/// cost the load generator as much CPU as the collector under test.
/// </summary>
internal sealed class Sink : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Sink(WebApplication app, SequenceSet received)
    {
        _app = app;
        Received = received;
        Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public SequenceSet Received { get; }

    public int Port { get; }

    public static async Task<Sink> StartAsync()
    {
        var received = new SequenceSet();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 256 * 1024 * 1024);
        var endpoint = new TraceEndpoint(received);
        builder.Services.AddSingleton(endpoint);
        builder.Services.AddSingleton<IServiceMethodProvider<TraceEndpoint>>(endpoint);
        var app = builder.Build();
        app.MapGrpcService<TraceEndpoint>();
        await app.StartAsync();
        return new Sink(app, received);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>TraceService/Export bound by hand with identity marshallers, so no message is ever decoded.</summary>
    private sealed class TraceEndpoint(SequenceSet received) : IServiceMethodProvider<TraceEndpoint>
    {
        // An ExportTraceServiceResponse without partial_success encodes to zero bytes.
        private static readonly Task<byte[]> Ok = Task.FromResult(Array.Empty<byte>());

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TraceEndpoint> context) =>
            context.AddUnaryMethod(RawTraceExport.Method, [], static (endpoint, request, _) => endpoint.Export(request));

        private long _requests;

        // A rejected request records no ids: its spans count as lost.
        private Task<byte[]> Export(byte[] request) =>
            (Interlocked.Increment(ref _requests) % 100 != 0 || ParsesFully(request)) && SpanIdScanner.TryAddSpanIds(request, received)
                ? Ok
                : throw new RpcException(new Status(StatusCode.InvalidArgument, "malformed ExportTraceServiceRequest"));

        /// <summary>Every 100th request is parsed whole, as a real backend would: forwarded bytes must still be valid OTLP.</summary>
        private static bool ParsesFully(byte[] request)
        {
            try
            {
                ExportTraceServiceRequest.Parser.ParseFrom(request);
                return true;
            }
            catch (InvalidProtocolBufferException)
            {
                return false;
            }
        }
    }
}

/// <summary>OTLP TraceService/Export with the messages as raw protobuf bytes (client and sink).</summary>
internal static class RawTraceExport
{
    private static readonly Marshaller<byte[]> Identity = Marshallers.Create(b => b, b => b);

    public static readonly Method<byte[], byte[]> Method = new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export", Identity, Identity);
}

/// <summary>
/// A minimal protobuf wire walk of ExportTraceServiceRequest that reads only span ids:
/// resource_spans (1) -> scope_spans (2) -> spans (2) -> span_id (2); every other field is skipped by its wire type.
/// </summary>
internal static class SpanIdScanner
{
    private const int VarintType = 0;
    private const int Fixed64Type = 1;
    private const int LengthDelimitedType = 2;
    private const int Fixed32Type = 5;

    // The length-delimited field followed at each nesting level, from the request down to the span id.
    private static readonly int[] FieldPath = [1, 2, 2, 2];

    /// <summary>Adds every 8-byte span id to <paramref name="received"/>; false when the bytes are not well-formed protobuf along the path.</summary>
    public static bool TryAddSpanIds(ReadOnlySpan<byte> request, SequenceSet received) => Walk(request, 0, received);

    private static bool Walk(ReadOnlySpan<byte> message, int depth, SequenceSet received)
    {
        while (!message.IsEmpty)
        {
            if (!TryReadField(ref message, out var field, out var wireType, out var payload))
            {
                return false;
            }

            if (wireType != LengthDelimitedType || field != (ulong)FieldPath[depth])
            {
                continue;
            }

            if (depth == FieldPath.Length - 1)
            {
                if (payload.Length == 8)
                {
                    received.Add(BinaryPrimitives.ReadUInt64BigEndian(payload));
                }
            }
            else if (!Walk(payload, depth + 1, received))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Consumes one field; <paramref name="payload"/> is its bytes when it is length-delimited, else empty.</summary>
    private static bool TryReadField(ref ReadOnlySpan<byte> buffer, out ulong field, out int wireType, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        field = 0;
        wireType = -1;
        if (!TryReadVarint(ref buffer, out var tag))
        {
            return false;
        }

        field = tag >> 3;
        wireType = (int)(tag & 7);
        switch (wireType)
        {
            case VarintType:
                return TryReadVarint(ref buffer, out _);
            case Fixed64Type:
                return TrySkip(ref buffer, 8);
            case Fixed32Type:
                return TrySkip(ref buffer, 4);
            case LengthDelimitedType:
                if (!TryReadVarint(ref buffer, out var length) || length > (ulong)buffer.Length)
                {
                    return false;
                }

                payload = buffer[..(int)length];
                buffer = buffer[(int)length..];
                return true;
            default:
                // Groups (3, 4) are not used by OTLP; 6 and 7 do not exist.
                return false;
        }
    }

    private static bool TrySkip(ref ReadOnlySpan<byte> buffer, int count)
    {
        if (buffer.Length < count)
        {
            return false;
        }

        buffer = buffer[count..];
        return true;
    }

    private static bool TryReadVarint(ref ReadOnlySpan<byte> buffer, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 10 && i < buffer.Length; i++)
        {
            var b = buffer[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                buffer = buffer[(i + 1)..];
                return true;
            }
        }

        return false;
    }
}
