namespace Collector.Tests.TestSupport;

/// <summary>Waits for a condition with a deadline instead of sleeping and hoping.</summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:0.#}s waiting for {what}");
            }

            await Task.Delay(20);
        }
    }
}
