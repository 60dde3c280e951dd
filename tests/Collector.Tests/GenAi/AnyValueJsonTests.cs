using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Collector.Pipeline.Otlp;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;

namespace Collector.Tests.AiProcessing.GenAi;

/// <summary>The one AnyValue -> JSON writer (message extras, the langtrace exporter's non-string values).</summary>
public sealed class AnyValueJsonTests
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Test]
    public void Every_value_type_has_its_json_form()
    {
        var kv = new KeyValueList();
        kv.Values.Add(new KeyValue { Key = "region", Value = new AnyValue { StringValue = "eu" } });
        kv.Values.Add(new KeyValue { Key = "unset" });
        var array = new ArrayValue();
        array.Values.Add(new AnyValue { IntValue = 1 });
        array.Values.Add(new AnyValue { DoubleValue = 1.5 });
        array.Values.Add(new AnyValue { BoolValue = false });
        array.Values.Add(new AnyValue { StringValue = "x" });

        Assert.Multiple(() =>
        {
            Assert.That(Json(new AnyValue { StringValue = "\"quoted\" ünïcode" }), Is.EqualTo("\"\\\"quoted\\\" ünïcode\""));
            Assert.That(Json(new AnyValue { IntValue = -9_007_199_254_740_993 }), Is.EqualTo("-9007199254740993"));
            Assert.That(Json(new AnyValue { BoolValue = true }), Is.EqualTo("true"));
            Assert.That(Json(new AnyValue { DoubleValue = 0.25 }), Is.EqualTo("0.25"));
            Assert.That(Json(new AnyValue { DoubleValue = 3 }), Is.EqualTo("3.0"), "still reads as a double");
            Assert.That(Json(new AnyValue { DoubleValue = 1e20 }), Is.EqualTo("1E+20"));
            Assert.That(Json(new AnyValue { DoubleValue = double.NaN }), Is.EqualTo("\"NaN\""));
            Assert.That(Json(new AnyValue { DoubleValue = double.PositiveInfinity }), Is.EqualTo("\"Infinity\""));
            Assert.That(Json(new AnyValue { DoubleValue = double.NegativeInfinity }), Is.EqualTo("\"-Infinity\""));
            Assert.That(Json(new AnyValue { BytesValue = ByteString.CopyFrom(1, 2, 255) }), Is.EqualTo("\"AQL/\""));
            Assert.That(Json(new AnyValue { ArrayValue = array }), Is.EqualTo("[1,1.5,false,\"x\"]"));
            Assert.That(Json(new AnyValue { KvlistValue = kv }), Is.EqualTo("{\"region\":\"eu\",\"unset\":null}"));
            Assert.That(Json(new AnyValue()), Is.EqualTo("null"));
        });
    }

    [Test]
    public void Reading_the_json_back_gives_the_same_types()
    {
        var kv = new KeyValueList();
        kv.Values.Add(new KeyValue { Key = "n", Value = new AnyValue { IntValue = 2 } });
        kv.Values.Add(new KeyValue { Key = "d", Value = new AnyValue { DoubleValue = 2 } });
        var array = new ArrayValue();
        array.Values.Add(new AnyValue { StringValue = "a" });
        array.Values.Add(new AnyValue { KvlistValue = kv });
        foreach (var value in new[]
        {
            new AnyValue { StringValue = "s" }, new AnyValue { IntValue = long.MinValue }, new AnyValue { BoolValue = false },
            new AnyValue { DoubleValue = 3 }, new AnyValue { DoubleValue = -0.125 }, new AnyValue { ArrayValue = array }, new AnyValue(),
        })
        {
            using var document = JsonDocument.Parse(Json(value));
            Assert.That(AnyValueJson.Read(document.RootElement), Is.EqualTo(value), Json(value));
        }
    }

    [Test]
    public void Writing_allocates_nothing()
    {
        var value = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { DoubleValue = 0.1 }, new AnyValue { DoubleValue = double.NaN }, new AnyValue { IntValue = 7 } } } };
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var writer = new Utf8JsonWriter(buffer, Options);
        Write();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Write();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(Encoding.UTF8.GetString(buffer.WrittenSpan), Is.EqualTo("[0.1,\"NaN\",7]"));

        void Write()
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            AnyValueJson.Write(writer, value);
            writer.Flush();
        }
    }

    private static string Json(AnyValue value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            AnyValueJson.Write(writer, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
