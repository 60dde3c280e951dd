using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Collector.Receiver.Hosting;

/// <summary>
/// Checks <c>Authorization: Bearer &lt;token&gt;</c> against configured tokens in constant time:
/// both sides are hashed first so neither the content nor the length of a token leaks through timing.
/// </summary>
internal sealed class BearerTokenAuthenticator
{
    private const int MaxStackToken = 512;
    private readonly byte[][] _tokenHashes;

    public BearerTokenAuthenticator(IEnumerable<string> tokens)
    {
        var hashes = new List<byte[]>();
        foreach (var token in tokens)
        {
            hashes.Add(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        }

        _tokenHashes = [.. hashes];
    }

    public bool IsAuthorized(StringValues authorization)
    {
        if (authorization.Count != 1)
        {
            return false;
        }

        var header = authorization[0].AsSpan().Trim();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return IsKnownToken(header[scheme.Length..].Trim());
    }

    /// <summary>Whether <paramref name="token"/> is one of the configured tokens (also used for API-key headers such as x-api-key).</summary>
    public bool IsKnownToken(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty)
        {
            return false;
        }

        var byteCount = Encoding.UTF8.GetByteCount(token);
        Span<byte> bytes = byteCount <= MaxStackToken ? stackalloc byte[MaxStackToken] : new byte[byteCount];
        var written = Encoding.UTF8.GetBytes(token, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..written], hash);

        var match = false;
        foreach (var expected in _tokenHashes)
        {
            // No early exit: every configured token is compared.
            match |= CryptographicOperations.FixedTimeEquals(expected, hash);
        }

        return match;
    }
}
