namespace Collector.Pipeline.Configuration;

/// <summary>
/// Base of every component's typed config. Properties are bound from YAML by their snake_case
/// names (MaxRecvMsgSizeMib &lt;- max_recv_msg_size_mib); unknown keys are errors. Defaults come
/// from the factory's CreateDefaultConfig; checks live in <see cref="Validate"/>.
/// </summary>
public abstract class ComponentConfig : IValidatable
{
    /// <summary>Adds every problem with this node's own keys; paths are relative to this component's YAML node.</summary>
    public virtual void Validate(ConfigErrors errors)
    {
    }
}

/// <summary>
/// A settings object that checks its own keys. The loader walks the whole config
/// (<see cref="ConfigBinder.Validate"/>), so nested settings are validated with their YAML path
/// without their parent calling them.
/// </summary>
public interface IValidatable
{
    void Validate(ConfigErrors errors);
}

/// <summary>
/// A settings object whose values name things on this machine that must be usable at start (a
/// spool directory). <c>collector validate</c> runs these checks after loading
/// (<see cref="ConfigLoader.CheckEnvironment"/>) over the components the pipelines use; loading
/// alone does not, so that a start reports such a problem as a start error (exit code 1).
/// </summary>
public interface IEnvironmentValidatable
{
    /// <summary><paramref name="owner"/> is the component whose config this is (files are named after it).</summary>
    void ValidateEnvironment(ComponentId owner, ConfigErrors errors);
}

/// <summary>Collects every config error with its YAML path, so all are reported at once.</summary>
public sealed class ConfigErrors
{
    private readonly List<string> _errors;
    private readonly string _prefix;
    private readonly Func<string, string>? _redact;

    public ConfigErrors()
        : this([], string.Empty, null)
    {
    }

    private ConfigErrors(List<string> errors, string prefix, Func<string, string>? redact)
    {
        _errors = errors;
        _prefix = prefix;
        _redact = redact;
    }

    public IReadOnlyList<string> All => _errors;

    public bool HasErrors => _errors.Count > 0;

    public string Path => _prefix;

    /// <summary>A view whose paths are nested under <paramref name="key"/>; errors land in the same list.</summary>
    public ConfigErrors At(string key) => new(_errors, Join(_prefix, key), _redact);

    /// <summary>
    /// A view that passes every message (not the path) through <paramref name="redact"/>: the loader
    /// uses it so that component-written messages cannot print values that came from the environment.
    /// </summary>
    internal ConfigErrors Redacting(Func<string, string> redact) => new(_errors, _prefix, redact);

    public void Add(string message)
    {
        if (_redact is not null)
        {
            message = _redact(message);
        }

        _errors.Add(_prefix.Length == 0 ? message : $"{_prefix}: {message}");
    }

    public void Add(string key, string message) => At(key).Add(message);

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";
}
