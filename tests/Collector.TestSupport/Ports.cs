using System.Net;
using System.Net.Sockets;

namespace Collector.Tests.TestSupport;

internal static class Ports
{
    /// <summary>A loopback port that was free a moment ago (for configs that need a fixed port).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
