using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Collector.Tests.Receiver;

/// <summary>Keeps every rendered log line (with its properties and exception) for assertions.</summary>
internal sealed class CapturingSink : ILogEventSink
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public void Emit(LogEvent logEvent)
    {
        var properties = string.Join(", ", logEvent.Properties.Select(p => $"{p.Key}={p.Value}"));
        _lines.Enqueue($"{logEvent.Level} {logEvent.RenderMessage()} {{{properties}}} {logEvent.Exception}");
    }
}
