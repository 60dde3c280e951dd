namespace Collector.Exporters.Langtrace;

/// <summary>
/// Provider names as Langtrace's vendor detection and price tables expect them (lowercase words
/// such as openai, anthropic, azure, gemini, mistral, xai: lib/utils.ts getVendorFromSpan and
/// calculatePriceFromUsage), from the OTel GenAI <c>gen_ai.provider.name</c> spellings.
/// </summary>
internal static class LangtraceVendor
{
    public static string Of(string provider)
    {
        var p = provider.Trim().ToLowerInvariant();
        return p switch
        {
            "azure.ai.openai" or "az.ai.openai" or "azure.ai.inference" or "az.ai.inference" or "azure_openai" => "azure",
            "gcp.gemini" or "gcp.gen_ai" or "google" or "google_genai" => "gemini",
            "gcp.vertex_ai" or "vertex_ai" or "vertexai" => "vertex",
            "mistral_ai" or "mistralai" => "mistral",
            "x_ai" => "xai",
            "aws.bedrock" => "bedrock",
            _ => p,
        };
    }
}
