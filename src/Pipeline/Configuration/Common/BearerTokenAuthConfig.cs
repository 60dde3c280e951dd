namespace Collector.Pipeline.Configuration.Common;

/// <summary>auth: for servers: accepted tokens for <c>Authorization: Bearer &lt;token&gt;</c>; any one matches.</summary>
internal sealed class BearerTokenAuthConfig : IValidatable
{
    [Secret]
    public List<string> BearerTokens { get; set; } = [];

    public void Validate(ConfigErrors errors)
    {
        var tokens = errors.At("bearer_tokens");
        if (BearerTokens.Count == 0)
        {
            tokens.Add("must list at least one token when auth is configured");
        }

        for (var i = 0; i < BearerTokens.Count; i++)
        {
            // The index, never the value: tokens are secrets.
            if (string.IsNullOrWhiteSpace(BearerTokens[i]) || BearerTokens[i].AsSpan().ContainsAny(" \t\r\n"))
            {
                tokens.Add($"token #{i + 1} is empty or contains whitespace");
            }
        }
    }
}
