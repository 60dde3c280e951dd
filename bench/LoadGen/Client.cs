using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Net.Client;

namespace Collector.LoadGen;

/// <summary>Sends pre-encoded OTLP trace requests over gRPC or HTTP; the payload bytes go on the wire as they are.</summary>
internal sealed class Client : IDisposable
{
    private readonly Protocol _protocol;
    private readonly GrpcChannel? _channel;
    private readonly CallInvoker? _invoker;
    private readonly HttpClient? _http;
    private readonly Uri? _url;

    public Client(Protocol protocol, int grpcPort, int httpPort)
    {
        _protocol = protocol;
        if (protocol == Protocol.Grpc)
        {
            _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions
            {
                MaxSendMessageSize = null,
                MaxReceiveMessageSize = null,
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            });
            _invoker = _channel.CreateCallInvoker();
        }
        else
        {
            _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };
            _url = new Uri($"http://127.0.0.1:{httpPort}/v1/traces");
        }
    }

    public bool Json => _protocol == Protocol.HttpJson;

    /// <summary>Null on success, else a short error kind for the report.</summary>
    public async Task<string?> SendAsync(byte[] payload)
    {
        try
        {
            if (_invoker is not null)
            {
                await _invoker.AsyncUnaryCall(RawTraceExport.Method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), payload);
                return null;
            }

            using var content = new ByteArrayContent(payload);
            content.Headers.ContentType = new MediaTypeHeaderValue(Json ? "application/json" : "application/x-protobuf");
            using var response = await _http!.PostAsync(_url, content);
            return response.IsSuccessStatusCode ? null : $"http_{(int)response.StatusCode}";
        }
        catch (RpcException e)
        {
            return $"grpc_{e.StatusCode}";
        }
        catch (HttpRequestException)
        {
            return "connection";
        }
        catch (TaskCanceledException)
        {
            return "timeout";
        }
    }

    public void Dispose()
    {
        _channel?.Dispose();
        _http?.Dispose();
    }
}
