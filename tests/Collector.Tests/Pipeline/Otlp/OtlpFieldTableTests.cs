using System.Collections;
using System.Text;
using Collector.Pipeline.Otlp;
using Collector.Tests.TestSupport;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Collector.Tests.Core;

/// <summary>The field table against the generated descriptors and the generated code's own encoding.</summary>
public sealed class OtlpFieldTableTests
{
    private static readonly MessageDescriptor[] Roots =
        [ExportTraceServiceRequest.Descriptor, ExportMetricsServiceRequest.Descriptor, ExportLogsServiceRequest.Descriptor];

    [Test]
    public void Every_field_has_the_descriptors_number_names_and_the_tag_the_generated_code_writes()
    {
        var checkedFields = 0;
        foreach (var descriptor in Reachable())
        {
            var table = OtlpFieldTable.For(descriptor);
            Assert.That(table.Descriptor, Is.SameAs(descriptor));
            Assert.That(table.Fields.Select(f => f.Number), Is.EqualTo(descriptor.Fields.InDeclarationOrder().Select(f => f.FieldNumber)), descriptor.FullName);
            Assert.That(table.InNumberOrder.Select(f => f.Number), Is.EqualTo(descriptor.Fields.InFieldNumberOrder().Select(f => f.FieldNumber)), descriptor.FullName);
            foreach (var field in table.Fields)
            {
                var name = $"{descriptor.FullName}.{field.Name}";
                Assert.That(table.ByNumber[field.Number], Is.SameAs(field), name);
                Assert.That((field.Name, field.JsonName, field.Type, field.IsRepeated), Is.EqualTo((field.Descriptor.Name, field.Descriptor.JsonName, field.Descriptor.FieldType, field.Descriptor.IsRepeated)), name);
                Assert.That(table.SlotField(table.FindSlot(Encoding.UTF8.GetBytes(field.JsonName))), Is.SameAs(field), name);
                Assert.That(table.SlotField(table.FindSlot(Encoding.UTF8.GetBytes(field.Name))), Is.SameAs(field), name);
                Assert.That(field.Message?.Descriptor, Is.EqualTo(field.Type == FieldType.Message ? field.Descriptor.MessageType : null), name);

                // What the generated serializer writes first for this field alone is its tag (packed for repeated scalars).
                var written = TagWritten(descriptor, field.Descriptor);
                Assert.That(written, Is.EqualTo(field.IsPacked ? field.PackedTag : field.Tag), name);
                Assert.That(WireFormat.GetTagWireType(field.Tag), Is.EqualTo((WireFormat.WireType)field.WireType), name);
                Assert.That(field.Accepts(field.WireType), Is.True, name);
                checkedFields++;
            }
        }

        Assert.That(checkedFields, Is.GreaterThan(100));
        Assert.That(OtlpFieldTable.For(Span.Descriptor).FindSlot("nope"u8), Is.EqualTo(-1));
    }

    [Test]
    public void Ids_are_exactly_the_trace_span_and_parent_span_id_bytes_fields()
    {
        var ids = new List<string>();
        foreach (var descriptor in Reachable())
        {
            foreach (var field in OtlpFieldTable.For(descriptor).Fields)
            {
                if (field.IsId)
                {
                    Assert.That(field.Type, Is.EqualTo(FieldType.Bytes));
                    ids.Add($"{descriptor.Name}.{field.Name}:{field.Id}");
                }
            }
        }

        Assert.That(ids, Is.EquivalentTo(new[]
        {
            "Span.trace_id:TraceId", "Span.span_id:SpanId", "Span.parent_span_id:ParentSpanId",
            "Link.trace_id:TraceId", "Link.span_id:SpanId",
            "LogRecord.trace_id:TraceId", "LogRecord.span_id:SpanId",
            "Exemplar.trace_id:TraceId", "Exemplar.span_id:SpanId",
        }));
        Assert.That(OtlpFieldTable.For(Span.Descriptor).Named("trace_id").Content, Is.EqualTo(OtlpFieldContent.TraceId));
        Assert.That(OtlpFieldTable.IdOf("parentSpanId"), Is.EqualTo(OtlpId.ParentSpanId));
        Assert.That(OtlpFieldTable.IdOf("traceState"), Is.EqualTo(OtlpId.None));
    }

    [Test]
    public void Ids_are_hex_in_json_both_ways_and_other_bytes_stay_base64()
    {
        var span = new Span { TraceId = ByteString.CopyFrom([.. Enumerable.Range(1, 16).Select(i => (byte)i)]), SpanId = ByteString.CopyFrom(1, 2, 3, 4, 5, 6, 7, 8) };
        var json = OtlpJson.Format(span);

        Assert.That(json, Does.Contain("\"traceId\":\"0102030405060708090a0b0c0d0e0f10\"").And.Contain("\"spanId\":\"0102030405060708\""));
        Assert.That(OtlpJson.Parse(Encoding.UTF8.GetBytes(json), Span.Parser), Is.EqualTo(span));
        var bytes = new OpenTelemetry.Proto.Common.V1.AnyValue { BytesValue = ByteString.CopyFrom(1, 2, 3) };
        Assert.That(OtlpJson.Format(bytes), Is.EqualTo("{\"bytesValue\":\"AQID\"}"));
    }

    [Test]
    public void The_numbers_the_encoded_trace_outline_and_the_scanner_rely_on_are_the_generated_codes()
    {
        Assert.That(Number(ExportTraceServiceRequest.Descriptor, "resource_spans"), Is.EqualTo(ExportTraceServiceRequest.ResourceSpansFieldNumber));
        Assert.That(Number(ResourceSpans.Descriptor, "resource"), Is.EqualTo(ResourceSpans.ResourceFieldNumber));
        Assert.That(Number(ResourceSpans.Descriptor, "scope_spans"), Is.EqualTo(ResourceSpans.ScopeSpansFieldNumber));
        Assert.That(Number(ResourceSpans.Descriptor, "schema_url"), Is.EqualTo(ResourceSpans.SchemaUrlFieldNumber));
        Assert.That(Number(ScopeSpans.Descriptor, "scope"), Is.EqualTo(ScopeSpans.ScopeFieldNumber));
        Assert.That(Number(ScopeSpans.Descriptor, "spans"), Is.EqualTo(ScopeSpans.SpansFieldNumber));
        Assert.That(Number(ScopeSpans.Descriptor, "schema_url"), Is.EqualTo(ScopeSpans.SchemaUrlFieldNumber));
        Assert.That(Number(Span.Descriptor, "trace_id"), Is.EqualTo(Span.TraceIdFieldNumber));
        Assert.That(Number(Span.Descriptor, "span_id"), Is.EqualTo(Span.SpanIdFieldNumber));
        Assert.That(OtlpFieldTable.For(Span.Descriptor).Kind, Is.EqualTo(OtlpItemKind.Span));
        Assert.That(OtlpFieldTable.For(LogRecord.Descriptor).Kind, Is.EqualTo(OtlpItemKind.LogRecord));
        Assert.That(OtlpFieldTable.For(HistogramDataPoint.Descriptor).Kind, Is.EqualTo(OtlpItemKind.DataPoint));
        Assert.That(OtlpFieldTable.For(Metric.Descriptor).Kind, Is.EqualTo(OtlpItemKind.None));

        // The scanner and the outline read real requests with the table's numbers.
        var request = new ExportTraceServiceRequest { ResourceSpans = { TestData.Spans(2, 2, 3) } };
        var outline = new EncodedTraces();
        Assert.That(outline.TryRead([request.ToByteArray()]), Is.True);
        Assert.That((outline.Resources.Count, outline.Scopes.Count, outline.Spans.Count), Is.EqualTo((2, 4, 12)));
        Assert.That(outline.Spans[5].TraceId.ToArray(), Is.EqualTo(request.ResourceSpans[0].ScopeSpans[1].Spans[2].TraceId.ToByteArray()));
        Assert.That(OtlpWireScanner.TryScan(Collector.Pipeline.Signal.Traces, request.ToByteArray(), out var items) && items == 12, Is.True);
    }

    [Test]
    public void One_table_per_message_type_shared_by_every_root_that_reaches_it()
    {
        var fromTraces = OtlpFieldTable.For(ExportTraceServiceRequest.Descriptor).Named("resource_spans").Message!.Named("resource").Message;
        var fromLogs = OtlpFieldTable.For(ExportLogsServiceRequest.Descriptor).Named("resource_logs").Message!.Named("resource").Message;

        Assert.That(fromTraces, Is.SameAs(fromLogs));
        Assert.That(fromTraces, Is.SameAs(OtlpFieldTable.For(OpenTelemetry.Proto.Resource.V1.Resource.Descriptor)));
    }

    private static int Number(MessageDescriptor message, string field) => OtlpFieldTable.For(message).Named(field).Number;

    private static List<MessageDescriptor> Reachable()
    {
        var seen = new List<MessageDescriptor>();
        var queue = new Queue<MessageDescriptor>(Roots);
        while (queue.TryDequeue(out var descriptor))
        {
            if (seen.Contains(descriptor))
            {
                continue;
            }

            seen.Add(descriptor);
            foreach (var field in descriptor.Fields.InDeclarationOrder())
            {
                if (field.FieldType == FieldType.Message)
                {
                    queue.Enqueue(field.MessageType);
                }
            }
        }

        return seen;
    }

    /// <summary>Sets only <paramref name="field"/> to a non-default value and reads the first tag the generated code writes.</summary>
    private static uint TagWritten(MessageDescriptor descriptor, FieldDescriptor field)
    {
        var message = descriptor.Parser.ParseFrom([]);
        var value = SampleValue(field);
        if (field.IsRepeated)
        {
            ((IList)field.Accessor.GetValue(message)).Add(value);
        }
        else
        {
            field.Accessor.SetValue(message, value);
        }

        return new CodedInputStream(message.ToByteArray()).ReadTag();
    }

    private static object SampleValue(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message => field.MessageType.Parser.ParseFrom([]),
        FieldType.String => "x",
        FieldType.Bytes => ByteString.CopyFrom(1),
        FieldType.Bool => true,
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, 1),
        FieldType.Double => 1.5d,
        FieldType.Float => 1.5f,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => 1,
        FieldType.UInt32 or FieldType.Fixed32 => 1u,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => 1L,
        _ => 1UL,
    };
}
