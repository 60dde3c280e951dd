using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.Tests.LangtraceInterop;

/// <summary>
/// Whether a value Langtrace stored gives back the value that was sent: strings as they are, ints
/// from their decimal text, and every other type from the JSON text the exporter wrote.
/// </summary>
internal static class StoredValues
{
    /// <summary>Null when <paramref name="stored"/> recovers <paramref name="sent"/>, else why not.</summary>
    public static string? Mismatch(AnyValue sent, JsonNode? stored)
    {
        if (stored is null)
        {
            return "not stored";
        }

        var text = stored.GetValueKind() == JsonValueKind.String ? stored.GetValue<string>() : stored.ToJsonString();
        switch (sent.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                return text == sent.StringValue ? null : $"'{text}' != '{sent.StringValue}'";
            case AnyValue.ValueOneofCase.IntValue:
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) && i == sent.IntValue
                    ? null
                    : $"'{text}' != {sent.IntValue}";
            case AnyValue.ValueOneofCase.BytesValue:
                return text == Convert.ToBase64String(sent.BytesValue.Span) ? null : $"'{text}' is not the base64 of the bytes";
            case AnyValue.ValueOneofCase.DoubleValue:
                // Shortest round-trip text that still reads as a double: "0.25", "3.0", "NaN".
                var readsAsDouble = text.AsSpan().IndexOfAny(".eEN") >= 0 || text.EndsWith("Infinity", StringComparison.Ordinal);
                return readsAsDouble && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d.Equals(sent.DoubleValue)
                    ? null
                    : $"'{text}' != {sent.DoubleValue} (double)";
            default:
                JsonNode? parsed;
                try
                {
                    parsed = JsonNode.Parse(text);
                }
                catch (JsonException)
                {
                    return $"'{text}' is not JSON text";
                }

                return JsonMismatch(sent, parsed);
        }
    }

    /// <summary>A value against its JSON text form: numbers keep int vs double, bools and nesting kept.</summary>
    private static string? JsonMismatch(AnyValue sent, JsonNode? json)
    {
        var kind = json?.GetValueKind() ?? JsonValueKind.Null;
        switch (sent.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                return kind == JsonValueKind.String && json!.GetValue<string>() == sent.StringValue ? null : $"{json?.ToJsonString()} != \"{sent.StringValue}\"";
            case AnyValue.ValueOneofCase.BoolValue:
                return kind is JsonValueKind.True or JsonValueKind.False && json!.GetValue<bool>() == sent.BoolValue ? null : $"{json?.ToJsonString()} != {sent.BoolValue}";
            case AnyValue.ValueOneofCase.IntValue:
                var intText = json?.ToJsonString() ?? string.Empty;
                return kind == JsonValueKind.Number && !intText.Contains('.', StringComparison.Ordinal) && long.Parse(intText, CultureInfo.InvariantCulture) == sent.IntValue
                    ? null
                    : $"{intText} != {sent.IntValue} (int)";
            case AnyValue.ValueOneofCase.DoubleValue:
                var doubleText = json?.ToJsonString() ?? string.Empty;
                var readsAsDouble = doubleText.AsSpan().IndexOfAny(".eE") >= 0;
                var value = kind == JsonValueKind.Number ? double.Parse(doubleText, CultureInfo.InvariantCulture)
                    : kind == JsonValueKind.String ? double.Parse(json!.GetValue<string>(), CultureInfo.InvariantCulture) : double.NaN;
                return (readsAsDouble || kind == JsonValueKind.String) && value.Equals(sent.DoubleValue) ? null : $"{doubleText} != {sent.DoubleValue} (double)";
            case AnyValue.ValueOneofCase.ArrayValue:
                if (json is not JsonArray array || array.Count != sent.ArrayValue.Values.Count)
                {
                    return $"{json?.ToJsonString()} is not an array of {sent.ArrayValue.Values.Count}";
                }

                for (var i = 0; i < array.Count; i++)
                {
                    if (JsonMismatch(sent.ArrayValue.Values[i], array[i]) is { } why)
                    {
                        return $"[{i}]: {why}";
                    }
                }

                return null;
            case AnyValue.ValueOneofCase.KvlistValue:
                if (json is not JsonObject obj || obj.Count != sent.KvlistValue.Values.Count)
                {
                    return $"{json?.ToJsonString()} is not an object of {sent.KvlistValue.Values.Count}";
                }

                foreach (var kv in sent.KvlistValue.Values)
                {
                    if (JsonMismatch(kv.Value, obj[kv.Key]) is { } why)
                    {
                        return $"{kv.Key}: {why}";
                    }
                }

                return null;
            case AnyValue.ValueOneofCase.BytesValue:
                return kind == JsonValueKind.String && json!.GetValue<string>() == Convert.ToBase64String(sent.BytesValue.Span) ? null : "bytes differ";
            default:
                return kind == JsonValueKind.Null ? null : $"{json?.ToJsonString()} != null";
        }
    }
}
