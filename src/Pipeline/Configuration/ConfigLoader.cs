using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Collector.Pipeline.Configuration;

/// <summary>The outcome of loading collector.yaml: a config, or every error found (never both).</summary>
internal sealed class ConfigLoadResult
{
    private ConfigLoadResult(CollectorConfig? config, IReadOnlyList<string> errors)
    {
        Config = config;
        Errors = errors;
    }

    /// <summary>The bound and validated config; null when there is any error.</summary>
    public CollectorConfig? Config { get; }

    /// <summary>"path: message" lines in document order.</summary>
    public IReadOnlyList<string> Errors { get; }

    public bool Ok => Config is not null;

    public static ConfigLoadResult Success(CollectorConfig config) => new(config, []);

    public static ConfigLoadResult Failure(IReadOnlyList<string> errors) => new(null, errors);
}

/// <summary>
/// Turns collector.yaml into a <see cref="CollectorConfig"/>: parses YAML, expands
/// <c>${env:...}</c>, binds each component's section onto its factory's default config, runs
/// <see cref="ComponentConfig.Validate"/>, then checks the service section against what is
/// defined. Reports every error at once, each with its YAML path; throws nothing for bad input.
/// </summary>
internal static class ConfigLoader
{
    private static readonly string[] TopLevelKeys = ["receivers", "processors", "exporters", "extensions", "connectors", "service"];

    public static ConfigLoadResult LoadFile(string path, ComponentRegistry registry)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ConfigLoadResult.Failure([$"cannot read config file '{path}': {e.Message}"]);
        }

        return Load(text, registry, Environment.GetEnvironmentVariable);
    }

    public static ConfigLoadResult Load(string yamlText, ComponentRegistry registry, Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(yamlText);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(getEnv);

        var errors = new ConfigErrors();
        var root = Parse(yamlText, errors);
        if (root is null)
        {
            return ConfigLoadResult.Failure(errors.All);
        }

        EnvExpander.ExpandAll(root, getEnv);
        var receivers = new Section(ComponentKind.Receiver, "receivers");
        var processors = new Section(ComponentKind.Processor, "processors");
        var exporters = new Section(ComponentKind.Exporter, "exporters");
        var extensions = new Section(ComponentKind.Extension, "extensions");
        YamlNode? serviceNode = null;
        foreach (var entry in root.Children)
        {
            var key = (entry.Key as YamlScalarNode)?.Value ?? string.Empty;
            switch (key)
            {
                case "receivers": receivers.Load(entry.Value, registry, errors); break;
                case "processors": processors.Load(entry.Value, registry, errors); break;
                case "exporters": exporters.Load(entry.Value, registry, errors); break;
                case "extensions": extensions.Load(entry.Value, registry, errors); break;
                case "connectors":
                    if (!ConfigBinder.IsNull(entry.Value) && entry.Value is not YamlMappingNode { Children.Count: 0 })
                    {
                        errors.Add(key, "connectors are not supported yet");
                    }

                    break;
                case "service": serviceNode = entry.Value; break;
                default: errors.Add(key, ConfigBinder.UnknownKey(key, TopLevelKeys)); break;
            }
        }

        // Checked last whatever its place in the file: it refers to the components above.
        var service = LoadService(serviceNode, receivers, processors, exporters, extensions, errors.At("service"));
        if (errors.HasErrors)
        {
            return ConfigLoadResult.Failure(errors.All);
        }

        return ConfigLoadResult.Success(new CollectorConfig
        {
            Receivers = receivers.Configs,
            Processors = processors.Configs,
            Exporters = exporters.Configs,
            Extensions = extensions.Configs,
            Service = service,
        });
    }

    /// <summary>
    /// What <c>collector validate</c> checks beyond the file: every component a pipeline uses (and
    /// every extension the service starts) runs its <see cref="IEnvironmentValidatable"/> checks,
    /// e.g. that a spool directory can hold its file. Returns "path: message" lines; empty when fine.
    /// </summary>
    public static IReadOnlyList<string> CheckEnvironment(CollectorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new ConfigErrors();
        var used = new HashSet<(string Section, ComponentId Id)>();
        foreach (var id in config.Service.Extensions)
        {
            Check("extensions", id, config.Extensions);
        }

        foreach (var (pipelineId, pipeline) in config.Service.Pipelines)
        {
            if (pipeline.Durability is { } durability)
            {
                ConfigBinder.ValidateEnvironment(
                    DurabilityConfig.LogOwner(pipelineId), durability, errors.At("service").At("pipelines").At(pipelineId.ToString()).At("durability"));
            }

            foreach (var id in pipeline.Receivers)
            {
                Check("receivers", id, config.Receivers);
            }

            foreach (var id in pipeline.Processors)
            {
                Check("processors", id, config.Processors);
            }

            foreach (var id in pipeline.Exporters)
            {
                Check("exporters", id, config.Exporters);
            }
        }

        return errors.All;

        void Check(string section, ComponentId id, IReadOnlyDictionary<ComponentId, ComponentConfig> configs)
        {
            if (used.Add((section, id)) && configs.TryGetValue(id, out var component))
            {
                ConfigBinder.ValidateEnvironment(id, component, errors.At(section).At(id.ToString()));
            }
        }
    }

    /// <summary>1-based number of the first line whose leading whitespace holds a tab, or null.</summary>
    private static int? FirstTabIndentedLine(string text)
    {
        var line = 1;
        var inIndentation = true;
        foreach (var c in text)
        {
            if (c == '\n')
            {
                line++;
                inIndentation = true;
            }
            else if (c == '\t' && inIndentation)
            {
                return line;
            }
            else if (c != ' ' && c != '\r')
            {
                inIndentation = false;
            }
        }

        return null;
    }

    /// <summary>The root mapping, or null after adding the reason (syntax error, empty, not a mapping).</summary>
    private static YamlMappingNode? Parse(string text, ConfigErrors errors)
    {
        var scanner = new Scanner(new StringReader(text));
        var stream = new YamlStream();
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e) when (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstTabIndentedLine(text) is { } tabLine)
        {
            // YamlDotNet reports a tab in indentation at the start of the enclosing mapping (often line 1); the tab's own line is what to fix.
            errors.Add($"line {tabLine}: a tab in the indentation; YAML indents with spaces only");
            return null;
        }
        catch (YamlException e)
        {
            errors.Add($"line {e.Start.Line}, column {e.Start.Column}: {e.Message}");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // YamlDotNet fails on some malformed input (an unclosed "[") without a YamlException; the scanner knows where.
            errors.Add($"line {scanner.CurrentPosition.Line}, column {scanner.CurrentPosition.Column}: invalid YAML here (check for an unclosed bracket or quote)");
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            errors.Add("the configuration is empty");
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            errors.Add($"line {stream.Documents[1].RootNode.Start.Line}: only one YAML document is allowed");
            return null;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            errors.Add($"the configuration must be a mapping of {string.Join(", ", TopLevelKeys)}");
            return null;
        }

        return root;
    }

    private static ServiceConfig LoadService(YamlNode? node, Section receivers, Section processors, Section exporters, Section extensions, ConfigErrors bindErrors)
    {
        var section = new ServiceSection();
        ConfigBinder.Bind(node, section, bindErrors);

        // The checks below print ids and endpoints, which may have come from the environment.
        IReadOnlyList<EnvExpander.Substitution> substitutions = node is null ? [] : EnvExpander.SubstitutionsUnder(node);
        var errors = substitutions.Count == 0 ? bindErrors : bindErrors.Redacting(m => EnvExpander.Redact(m, substitutions));

        CheckReferences(section.Extensions, "extensions", extensions, signal: null, required: false, errors);
        if (section.ShutdownTimeout <= TimeSpan.Zero)
        {
            errors.Add("shutdown_timeout", "must be greater than 0");
        }

        ConfigBinder.Validate(section.MemoryLimit, errors.At("memory_limit"));
        var metrics = section.Telemetry.Metrics;
        if (metrics.Endpoint is not null)
        {
            Endpoint.ValidateListen(metrics.Endpoint, errors.At("telemetry").At("metrics").At("endpoint"));
        }

        var pipelines = new Dictionary<PipelineId, PipelineConfig>();
        if (section.Pipelines.Count == 0)
        {
            errors.Add("pipelines", "at least one pipeline is required");
        }

        foreach (var (name, pipeline) in section.Pipelines)
        {
            var at = errors.At("pipelines").At(name);
            Signal? signal = null;
            if (PipelineId.TryParse(name, out var id))
            {
                signal = id.Signal;
                pipelines[id] = pipeline;
            }
            else
            {
                at.Add($"'{name}' is not a valid pipeline id: expected traces, metrics or logs, optionally followed by /name");
            }

            CheckReferences(pipeline.Receivers, "receivers", receivers, signal, required: true, at);
            CheckReferences(pipeline.Processors, "processors", processors, signal, required: false, at);
            CheckReferences(pipeline.Exporters, "exporters", exporters, signal, required: true, at);
            if (pipeline.QueueSize < 1)
            {
                at.Add("queue_size", "must be at least 1");
            }

            if (pipeline.SubmitTimeout <= TimeSpan.Zero)
            {
                at.Add("submit_timeout", "must be greater than 0");
            }

            if (pipeline.Durability is { } durability)
            {
                ConfigBinder.Validate(durability, at.At("durability"));
            }
        }

        return new ServiceConfig
        {
            Extensions = section.Extensions,
            Telemetry = new TelemetryConfig
            {
                LogLevel = ConfigBinder.ToSnakeCase(section.Telemetry.Logs.Level.ToString()),
                LogFormat = ConfigBinder.ToSnakeCase(section.Telemetry.Logs.Format.ToString()),
                MetricsEndpoint = metrics.Endpoint,
                MetricsLevel = ConfigBinder.ToSnakeCase(metrics.Level.ToString()),
            },
            Pipelines = pipelines,
            ShutdownTimeout = section.ShutdownTimeout,
            MemoryLimit = section.MemoryLimit,
        };
    }

    /// <summary>
    /// One component's config as the loader makes it: the factory's defaults, the YAML bound on
    /// top, then every Validate (nested settings included) with its path.
    /// </summary>
    public static ComponentConfig LoadComponent(IComponentFactory factory, YamlNode node, ConfigErrors errors)
    {
        var config = factory.CreateDefaultConfig();
        ConfigBinder.Bind(node, config, errors);

        // Validate messages are written by each component and may print values; hide env-derived ones.
        var substitutions = EnvExpander.SubstitutionsUnder(node);
        ConfigBinder.Validate(config, substitutions.Count == 0 ? errors : errors.Redacting(m => EnvExpander.Redact(m, substitutions)));
        return config;
    }

    /// <summary>Each id must be defined, listed once, and (in a pipeline) support the pipeline's signal.</summary>
    private static void CheckReferences(IReadOnlyList<ComponentId> ids, string key, Section defined, Signal? signal, bool required, ConfigErrors errors)
    {
        if (required && ids.Count == 0)
        {
            errors.Add(key, $"at least one {defined.Noun} is required");
        }

        var seen = new HashSet<ComponentId>();
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            var at = errors.At($"{key}[{i}]");
            if (!seen.Add(id))
            {
                at.Add($"{defined.Noun} '{id}' is listed more than once");
            }
            else if (!defined.Factories.TryGetValue(id, out var factory))
            {
                at.Add($"{defined.Noun} '{id}' is not defined");
            }
            else if (signal is { } s && factory is not null && !factory.Metadata.Creates(s))
            {
                at.Add($"{defined.Noun} '{id}' does not support {s.ToConfigName()}");
            }
        }
    }

    /// <summary>One component section (receivers, processors, ...): what it defines and the bound configs.</summary>
    private sealed class Section(ComponentKind kind, string key)
    {
        /// <summary>Every id defined here, with its factory; null for an unknown type (already reported).</summary>
        public Dictionary<ComponentId, IComponentFactory?> Factories { get; } = [];

        public Dictionary<ComponentId, ComponentConfig> Configs { get; } = [];

        public string Noun { get; } = kind.ToString().ToLowerInvariant();

        public void Load(YamlNode node, ComponentRegistry registry, ConfigErrors errors)
        {
            if (ConfigBinder.IsNull(node))
            {
                return;
            }

            if (node is not YamlMappingNode mapping)
            {
                errors.Add(key, $"expected a mapping of {Noun} ids to their settings, got {ConfigBinder.Describe(node)}");
                return;
            }

            foreach (var entry in mapping.Children)
            {
                var text = (entry.Key as YamlScalarNode)?.Value ?? string.Empty;
                var at = errors.At(key).At(text);
                if (!ComponentId.TryParse(text, out var id))
                {
                    at.Add($"'{text}' is not a valid {Noun} id (expected type or type/name)");
                    continue;
                }

                var factory = registry.Find(kind, id.Type);
                Factories[id] = factory;
                if (factory is null)
                {
                    var known = registry.TypesOf(kind);
                    at.Add($"unknown {Noun} type '{id.Type}' (known: {(known.Count == 0 ? "none" : string.Join(", ", known))})");
                    continue;
                }

                Configs[id] = LoadComponent(factory, entry.Value, at);
            }
        }
    }
}
