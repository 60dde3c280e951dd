using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Secrets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Collector.Exporters.Otlp;

/// <summary>
/// One OTLP/gRPC Export call per attempt. Failures surface as <see cref="RpcException"/>s, which
/// the exporter helper classifies (status code, RetryInfo trailer).
/// </summary>
internal sealed class OtlpGrpcSender<T> : IExportSender<T>, IDisposable
    where T : class, IMessage<T>
{
    /// <summary>grpc-dotnet reads this call header to pick the request compression; it is not sent as is.</summary>
    private const string CompressionHeader = "grpc-internal-encoding-request";

    private readonly GrpcChannel _channel;

    /// <summary>scheme://host:port the channel calls; named in every error, as the HTTP client's errors name theirs.</summary>
    private readonly string _endpoint;
    private readonly Func<IReadOnlyList<ReadOnlyMemory<byte>>, CallOptions, Task<PartialSuccess>> _export;
    private readonly KeyValuePair<string, string>[] _headers;

    /// <summary>The header values (tokens, keys), masked wherever the backend echoes them in a status detail.</summary>
    private readonly string[] _secrets;
    private readonly bool _gzip;

    public OtlpGrpcSender(OtlpExporterConfig config)
    {
        if (!Pipeline.Configuration.Endpoint.TryParseTarget(config.Endpoint, defaultTls: false, out var target))
        {
            throw new ArgumentException($"invalid endpoint '{config.Endpoint}'", nameof(config));
        }

        _endpoint = target.GetLeftPart(UriPartial.Authority);
        _channel = GrpcChannel.ForAddress(new Uri(_endpoint), new GrpcChannelOptions
        {
            HttpHandler = ExporterHttpHandler.Create(config.Tls),
            DisposeHttpClient = true,
        });
        var invoker = _channel.CreateCallInvoker();
        _export = OtlpSignal<T>.Instance.CreateGrpcExport(invoker);
        _headers = [.. config.Headers];
        _secrets = LogText.KnownSecrets(_headers.Select(h => h.Value));
        _gzip = config.Compression == OtlpCompression.Gzip;
    }

    public async Task<ExportResult> SendAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        var metadata = new Metadata();
        foreach (var (key, value) in _headers)
        {
            metadata.Add(key, value);
        }

        if (_gzip)
        {
            metadata.Add(CompressionHeader, "gzip");
        }

        var options = new CallOptions(metadata, cancellationToken: cancellationToken);
        PartialSuccess partial;
        try
        {
            partial = await _export(batch.TryGetEncoded(out var segments) ? segments : [SignalOps<T>.Instance.SerializeRequest(batch.Resources)], options);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            // grpc-dotnet's texts ("Error connecting to subchannel.") do not say which backend failed.
            // The detail is the backend's text: mask this exporter's own secrets before it is cut.
            var scrubbed = new RpcException(new Status(e.StatusCode, LogText.Scrub(e.Status.Detail, _secrets) ?? string.Empty, e.Status.DebugException), e.Trailers);
            return NameEndpoint(RetryClassifier.FromException(scrubbed));
        }

        return partial.ToResult();
    }

    private ExportResult NameEndpoint(ExportResult result) =>
        result.Error is { } error && !error.Contains(_endpoint, StringComparison.OrdinalIgnoreCase)
            ? result with { Error = $"{error} (endpoint {_endpoint})" }
            : result;

    public void Dispose() => _channel.Dispose();
}
