using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Serilog.Core;
using Serilog.Events;
using ILogger = Serilog.ILogger;

namespace Collector.Receiver.Hosting;

/// <summary>
/// Sits between ASP.NET/Kestrel/grpc-dotnet and the component's logger: an error those libraries
/// log because a client went away (a reset connection, an aborted stream, the body drain Kestrel
/// attempts after one) is the client's doing, so it is written at debug and without its stack
/// trace. Everything else passes unchanged.
/// </summary>
internal sealed class ClientCausedServerLogs(ILogger target) : ILogEventSink
{
    public void Emit(LogEvent logEvent)
    {
        if (logEvent.Level >= LogEventLevel.Warning && IsClientCaused(logEvent))
        {
            var properties = new List<LogEventProperty>(logEvent.Properties.Count + 1);
            foreach (var (name, value) in logEvent.Properties)
            {
                properties.Add(new LogEventProperty(name, value));
            }

            properties.Add(new LogEventProperty("ClientCause", new ScalarValue(logEvent.Exception?.GetType().Name)));
            logEvent = new LogEvent(logEvent.Timestamp, LogEventLevel.Debug, null, logEvent.MessageTemplate, properties);
        }

        target.Write(logEvent);
    }

    private static bool IsClientCaused(LogEvent logEvent)
    {
        // Kestrel's "automatic draining of the request body failed": only seen after the connection was reset mid-body.
        if (logEvent.Properties.TryGetValue("EventId", out var id) && id is StructureValue structure)
        {
            foreach (var p in structure.Properties)
            {
                if (p.Name == "Name" && p.Value is ScalarValue { Value: "RequestBodyDrainBodyReaderInvalidState" })
                {
                    return true;
                }
            }
        }

        for (var e = logEvent.Exception; e is not null; e = e.InnerException)
        {
            if (e is ConnectionResetException or ConnectionAbortedException or SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown })
            {
                return true;
            }
        }

        return false;
    }
}
