using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.Pipeline.Otlp;

/// <summary>
/// Reads and upserts on an attribute list (<c>RepeatedField&lt;KeyValue&gt;</c>) by key. Linear
/// scans with ordinal compares: items carry tens of attributes, and a scan allocates nothing
/// where a dictionary would allocate per item.
/// </summary>
internal static class OtlpAttributes
{
    /// <summary>Index of the first attribute named <paramref name="key"/>, or -1.</summary>
    public static int IndexOf(RepeatedField<KeyValue> attributes, string key)
    {
        for (var i = 0; i < attributes.Count; i++)
        {
            if (string.Equals(attributes[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The value under <paramref name="key"/> (null when absent; may be null when the key has no value).</summary>
    public static AnyValue? Find(RepeatedField<KeyValue> attributes, string key)
    {
        var index = IndexOf(attributes, key);
        return index < 0 ? null : attributes[index].Value;
    }

    /// <summary>The string value under <paramref name="key"/>; null when absent or not a string.</summary>
    public static string? FindString(RepeatedField<KeyValue> attributes, string key) =>
        Find(attributes, key) is { ValueCase: AnyValue.ValueOneofCase.StringValue } value ? value.StringValue : null;

    /// <summary>Replaces the value under <paramref name="key"/> in place, or appends the key.</summary>
    public static void Set(RepeatedField<KeyValue> attributes, string key, AnyValue value)
    {
        var index = IndexOf(attributes, key);
        if (index >= 0)
        {
            attributes[index].Value = value;
        }
        else
        {
            attributes.Add(new KeyValue { Key = key, Value = value });
        }
    }

    public static void SetString(RepeatedField<KeyValue> attributes, string key, string value) =>
        Set(attributes, key, new AnyValue { StringValue = value });

    public static void SetInt(RepeatedField<KeyValue> attributes, string key, long value) =>
        Set(attributes, key, new AnyValue { IntValue = value });

    /// <summary>Removes <paramref name="key"/>; true when it was present.</summary>
    public static bool Remove(RepeatedField<KeyValue> attributes, string key)
    {
        var index = IndexOf(attributes, key);
        if (index < 0)
        {
            return false;
        }

        attributes.RemoveAt(index);
        return true;
    }
}
