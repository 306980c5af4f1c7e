namespace AdaRas.Engine;

/// <summary>How to generate: length limits, sampling and stop tokens. Validated before any work starts.</summary>
public sealed record GeneratorParams
{
    /// <summary>Most tokens to generate after the prompt.</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary>
    /// Capacity of the KV cache (prompt + generated tokens). Null: prompt length + MaxNewTokens, known at the first
    /// AppendTokens; set it when you append text in several calls.
    /// </summary>
    public int? MaxLength { get; init; }
    /// <summary>0 (or DoSample false) is greedy decoding.</summary>
    public double Temperature { get; init; }
    /// <summary>Sample from the distribution (with Temperature above 0) instead of taking the most likely token.</summary>
    public bool DoSample { get; init; }
    /// <summary>Keep the k most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of tokens whose probability reaches p; 1 disables. Must be in (0, 1].</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Seed of the sampler, so a sampled run repeats.</summary>
    public int Seed { get; init; }
    /// <summary>Token ids that end generation (default: the model's generation_config.json eos ids).</summary>
    public int[]? StopTokenIds { get; init; }

    /// <summary>True when decoding takes the most likely token.</summary>
    public bool IsGreedy => !DoSample || Temperature == 0;

    /// <summary>Throws <see cref="AdaRas.Files.UsageException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new AdaRas.Files.UsageException($"max new tokens must be >= 0, got {MaxNewTokens}");
        if (MaxLength is <= 0) throw new AdaRas.Files.UsageException($"max length must be positive, got {MaxLength}");
        if (double.IsNaN(Temperature) || Temperature < 0) throw new AdaRas.Files.UsageException($"temperature must be >= 0, got {Temperature}");
        if (TopK < 0) throw new AdaRas.Files.UsageException($"top-k must be >= 0, got {TopK}");
        if (double.IsNaN(TopP) || TopP <= 0 || TopP > 1) throw new AdaRas.Files.UsageException($"top-p must be in (0, 1], got {TopP}");
    }
}
