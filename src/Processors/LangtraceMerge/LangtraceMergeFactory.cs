using Collector.Pipeline;
using Collector.Pipeline.Configuration;
using Google.Protobuf;

namespace Collector.Processors.LangtraceMerge;

internal sealed class LangtraceMergeFactory : IProcessorFactory
{
    public string Type => "langtrace_merge";

    public ComponentKind Kind => ComponentKind.Processor;

    public ComponentConfig CreateDefaultConfig() => new LangtraceMergeConfig();

    public bool Supports(Signal signal) => signal is Signal.Traces or Signal.Logs;

    /// <summary>Called once per pipeline; every call for one component id shares one <see cref="MergeState"/>.</summary>
    public IProcessor<T> CreateProcessor<T>(ComponentContext context, ComponentConfig config, IConsumer<T> next)
        where T : class, IMessage<T>
    {
        var state = context.Shared.GetOrAdd(context.Id, () => new MergeState(context, (LangtraceMergeConfig)config));
        return new LangtraceMergeProcessor<T>(state, state.AddPort(next));
    }
}
