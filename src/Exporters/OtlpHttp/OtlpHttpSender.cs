using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json;
using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Otlp;
using Collector.Pipeline.Secrets;
using Google.Protobuf;

namespace Collector.Exporters.OtlpHttp;

/// <summary>One OTLP/HTTP POST per attempt; replies are classified by <see cref="RetryClassifier"/>.</summary>
internal sealed class OtlpHttpSender<T> : IExportSender<T>, IDisposable
    where T : class, IMessage<T>
{
    /// <summary>Bound on a reply body read into memory (replies are tiny; a misbehaving server must not cost more).</summary>
    private const int MaxResponseBytes = 4 << 20;
    private const int MaxDetailChars = 256;

    private static readonly MediaTypeHeaderValue ProtobufType = new("application/x-protobuf");
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private static readonly ProductInfoHeaderValue UserAgent = new("Collector-OTLP-Exporter", typeof(OtlpHttpSender<>).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly HttpClient _client;
    private readonly Uri _url;
    private readonly KeyValuePair<string, string>[] _headers;

    /// <summary>The header values (tokens, keys), masked wherever the backend echoes them in an error.</summary>
    private readonly string[] _secrets;
    private readonly bool _json;
    private readonly bool _gzip;

    public OtlpHttpSender(OtlpHttpExporterConfig config)
    {
        var signal = SignalOps<T>.Instance.Signal;
        var own = signal switch
        {
            Signal.Traces => config.TracesEndpoint,
            Signal.Metrics => config.MetricsEndpoint,
            _ => config.LogsEndpoint,
        };
        _url = config.SignalUrl(own, OtlpSignal<T>.Instance.HttpPath)
            ?? throw new InvalidOperationException($"otlphttp has no URL for {signal.ToConfigName()}: set endpoint or {signal.ToConfigName()}_endpoint");
        _client = new HttpClient(ExporterHttpHandler.Create(config.Tls), disposeHandler: true)
        {
            // Each attempt has its own timeout (the exporter helper's token).
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
        _headers = [.. config.Headers];
        _secrets = LogText.KnownSecrets(_headers.Select(h => h.Value));
        _json = config.Encoding == OtlpEncoding.Json;
        _gzip = config.Compression == OtlpCompression.Gzip;
    }

    public async Task<ExportResult> SendAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        var body = _json ? OtlpJson.FormatUtf8(SignalOps<T>.Instance.CreateRequest(batch.Resources))
            : batch.ToRequestBytes();
        using var message = new HttpRequestMessage(HttpMethod.Post, _url) { Content = CreateContent(body) };
        message.Headers.UserAgent.Add(UserAgent);
        foreach (var (key, value) in _headers)
        {
            message.Headers.TryAddWithoutValidation(key, value);
        }

        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var reply = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var replyJson = IsJson(response.Content.Headers.ContentType);
        if (!response.IsSuccessStatusCode)
        {
            return RetryClassifier.FromHttpResponse(response, ErrorDetail(reply, replyJson, _secrets));
        }

        if (reply.Length == 0)
        {
            return ExportResult.Success;
        }

        try
        {
            return OtlpSignal<T>.Instance.ParseResponse(reply, replyJson).ToResult();
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            // The backend said 2xx: the data is accepted even if its reply body is not readable.
            return ExportResult.Success;
        }
    }

    public void Dispose() => _client.Dispose();

    private HttpContent CreateContent(byte[] body)
    {
        HttpContent content;
        if (_gzip)
        {
            var compressed = new MemoryStream(body.Length / 4 + 64);
            using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(body);
            }

            content = new ByteArrayContent(compressed.GetBuffer(), 0, (int)compressed.Length);
            content.Headers.ContentEncoding.Add("gzip");
        }
        else
        {
            content = new ByteArrayContent(body);
        }

        content.Headers.ContentType = _json ? JsonType : ProtobufType;
        return content;
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && media.EndsWith("json", StringComparison.OrdinalIgnoreCase);

    /// <summary>The message of the google.rpc.Status an OTLP server sends with an error, scrubbed of secrets and shortened for logs.</summary>
    private static string? ErrorDetail(byte[] body, bool json, string[] secrets)
    {
        if (body.Length == 0)
        {
            return null;
        }

        string? message = null;
        if (!json)
        {
            message = RpcStatusDetails.TryParse(body, out var m, out _, out _) ? m : null;
        }
        else
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                {
                    message = m.GetString();
                }
            }
            catch (JsonException)
            {
                // Not an OTLP error body; the status code alone describes the failure.
            }
        }

        return LogText.Scrub(message, secrets, MaxDetailChars);
    }
}
