using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Collector.Exporters.Shared;
using Collector.Pipeline;
using Collector.Pipeline.Export;
using Collector.Pipeline.Secrets;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Exporters.Langtrace;

/// <summary>
/// One attempt to deliver one request batch (one resource, one scope, at most batch_size spans)
/// to Langtrace, and the reply mapped per docs/architecture.md "Acks and durability": 2xx ok; 400/401/403 permanent (key
/// missing or rejected); 408/429/5xx retryable; 404 (the server's catch-all for any ingestion
/// error) retryable, then dropped as poison; any other status permanent.
/// </summary>
internal sealed class LangtraceSender : IExportSender<ResourceSpans>, IDisposable
{
    private const int MaxResponseBytes = 64 * 1024;
    private const int MaxDetailChars = 200;
    private const int MaxTraceIdsInDetail = 10;

    /// <summary>Request buffers larger than this (huge prompts) are not kept for reuse.</summary>
    private const int MaxPooledBufferBytes = 1 << 20;
    private const string KeyHint = "check LANGTRACE_API_KEY / api_key";

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    // Langtrace's route.ts takes the OTLP branch only when the User-Agent contains "otel-otlp" or "opentelemetry".
    private static readonly ProductInfoHeaderValue UserAgent = new(
        "OTel-OTLP-Exporter-Collector",
        typeof(LangtraceSender).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly HttpClient _client;
    private readonly Uri _url;
    private readonly KeyValuePair<string, string>[] _headers;
    private readonly string? _apiKey;

    /// <summary>The api key and header values, masked wherever the backend echoes them in an error.</summary>
    private readonly string[] _secrets;
    private readonly List<string> _copyResourceAttributes;

    /// <summary>Encoders with their body buffers, reused across requests (at most one per concurrent sender).</summary>
    private readonly ConcurrentQueue<(LangtraceJsonEncoder Encoder, ArrayBufferWriter<byte> Body)> _buffers = new();
    private readonly int _maxPooled;

    public LangtraceSender(LangtraceExporterConfig config)
    {
        _url = Pipeline.Configuration.Endpoint.TryParseTarget(config.Endpoint, defaultTls: true, out var url)
            ? url
            : throw new InvalidOperationException("langtrace: endpoint is not a valid URL");
        _client = new HttpClient(ExporterHttpHandler.Create(config.Tls), disposeHandler: true)
        {
            // Each attempt has its own timeout (the exporter helper's token).
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
        _headers = [.. config.Headers];
        _apiKey = string.IsNullOrWhiteSpace(config.ApiKey) ? null : config.ApiKey;
        _secrets = LogText.KnownSecrets([_apiKey, .. _headers.Select(h => h.Value)]);
        _copyResourceAttributes = [.. config.CopyResourceAttributes];
        _maxPooled = config.SendingQueue.NumConsumers;
    }

    public async Task<ExportResult> SendAsync(Batch<ResourceSpans> batch, CancellationToken cancellationToken)
    {
        // The exporter hands over one (resource, scope) per batch; should a batch ever hold more
        // (the server reads only the first of each), each pair still goes in its own request.
        if (!_buffers.TryDequeue(out var buffers))
        {
            buffers = (new LangtraceJsonEncoder(_copyResourceAttributes), new ArrayBufferWriter<byte>(64 * 1024));
        }

        var (encoder, body) = buffers;
        try
        {
            foreach (var resource in batch.Resources)
            {
                foreach (var scope in resource.ScopeSpans)
                {
                    if (scope.Spans.Count == 0)
                    {
                        continue;
                    }

                    body.ResetWrittenCount();
                    encoder.Encode(resource, scope, body);
                    var result = await PostAsync(body.WrittenMemory, batch, cancellationToken);
                    if (result.Outcome != ExportOutcome.Success)
                    {
                        return result;
                    }
                }
            }

            return ExportResult.Success;
        }
        finally
        {
            // The request has been sent (or abandoned) by now: the buffer is free again.
            if (body.Capacity <= MaxPooledBufferBytes && _buffers.Count < _maxPooled)
            {
                _buffers.Enqueue(buffers);
            }
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task<ExportResult> PostAsync(ReadOnlyMemory<byte> body, Batch<ResourceSpans> batch, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(body);
        // Exactly "application/json": no charset parameter.
        content.Headers.ContentType = JsonType;
        using var message = new HttpRequestMessage(HttpMethod.Post, _url) { Content = content };
        message.Headers.UserAgent.Add(UserAgent);
        if (_apiKey is not null)
        {
            message.Headers.TryAddWithoutValidation(LangtraceExporterConfig.ApiKeyHeader, _apiKey);
        }

        foreach (var (key, value) in _headers)
        {
            message.Headers.TryAddWithoutValidation(key, value);
        }

        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return ExportResult.Success;
        }

        var detail = ErrorDetail(await response.Content.ReadAsByteArrayAsync(cancellationToken), _secrets);
        var error = detail is null
            ? string.Create(CultureInfo.InvariantCulture, $"HTTP {status}")
            : string.Create(CultureInfo.InvariantCulture, $"HTTP {status}: {detail}");
        return status switch
        {
            400 => ExportResult.Permanent($"{error} (Langtrace answers 400 when the x-api-key header is missing: {KeyHint})"),
            401 or 403 => ExportResult.Permanent($"{error} (Langtrace rejected the API key: {KeyHint})"),
            404 => ExportResult.RetryableOrPoison(
                $"{error} (Langtrace's answer to any ingestion error, transient or caused by the payload)",
                TraceIds(batch)),
            408 or 429 or >= 500 => ExportResult.Retryable(error, RetryAfter(response)),
            _ => ExportResult.Permanent(error),
        };
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Retry-After", out var values)
            ? RetryClassifier.ParseRetryAfter(values.FirstOrDefault(), DateTimeOffset.UtcNow)
            : null;

    /// <summary>Langtrace replies {"error": "..."}; its text is scrubbed of secrets and shortened for logs.</summary>
    private static string? ErrorDetail(byte[] body, string[] secrets)
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && (doc.RootElement.TryGetProperty("error", out var m) || doc.RootElement.TryGetProperty("message", out m))
                && m.ValueKind == JsonValueKind.String)
            {
                return LogText.Scrub(m.GetString(), secrets, MaxDetailChars);
            }
        }
        catch (JsonException)
        {
            // Not Langtrace's JSON (a proxy's HTML page): the status code alone describes the failure.
        }

        return null;
    }

    /// <summary>"trace ids: a, b (+3 more)", so that a dropped poison batch can be found in the other backends.</summary>
    private static string TraceIds(Batch<ResourceSpans> batch)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var more = 0;
        foreach (var resource in batch.Resources)
        {
            foreach (var scope in resource.ScopeSpans)
            {
                foreach (var span in scope.Spans)
                {
                    var id = Convert.ToHexStringLower(span.TraceId.Span);
                    if (ids.Count < MaxTraceIdsInDetail)
                    {
                        ids.Add(id);
                    }
                    else if (!ids.Contains(id))
                    {
                        more++;
                    }
                }
            }
        }

        var text = new StringBuilder("trace ids: ").AppendJoin(", ", ids);
        return more > 0 ? text.Append(CultureInfo.InvariantCulture, $" (+{more} more spans of other traces)").ToString() : text.ToString();
    }
}
