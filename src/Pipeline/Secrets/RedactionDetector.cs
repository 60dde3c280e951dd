namespace Collector.Pipeline.Secrets;

/// <summary>Built-in detectors, switched on by name under <c>detectors</c>.</summary>
public enum RedactionDetector
{
    Email,
    CreditCard,
    Phone,
    Ipv4,
    ApiKey,
    BearerToken,
    Jwt,
}
