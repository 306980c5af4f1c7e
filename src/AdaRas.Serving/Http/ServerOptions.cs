namespace AdaRas.Serving.Http;

/// <summary>Where and how the HTTP server listens.</summary>
public sealed record ServerOptions
{
    /// <summary>Loopback by default: exposing the server is an explicit choice (--host 0.0.0.0).</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests); the bound address is <see cref="ServingApp.Address"/>.</summary>
    public int Port { get; init; } = 8000;
    /// <summary>When set, /v1/* requires "Authorization: Bearer &lt;key&gt;" (/health stays open for probes).</summary>
    public string? ApiKey { get; init; }
}
