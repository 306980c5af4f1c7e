using AdaRas.Serving.Execution;
using AdaRas.Serving.Steering;

namespace AdaRas.Serving;

/// <summary>Limits that keep one request from starving the others or the machine.</summary>
public sealed record ServingLimits
{
    /// <summary>Longest prompt, in tokens.</summary>
    public int MaxPromptTokens { get; init; } = 8192;
    /// <summary>Most tokens one request may ask for (max_tokens).</summary>
    public int MaxTokens { get; init; } = 4096;
    /// <summary>Requests running or queued at once; more get 429.</summary>
    public int MaxConcurrentRequests { get; init; } = 16;
    /// <summary>Largest request body, in bytes; larger gets 413.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;
    /// <summary>Requests decoded together in one batch (continuous batching); more wait for a free row.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Refuses limits that cannot work, naming the `adaras serve` option that sets each (a usage error, exit 2).</summary>
    public void Validate()
    {
        if (MaxPromptTokens < 1) throw new UsageException($"--max-prompt-tokens must be positive, got {MaxPromptTokens}");
        if (MaxTokens < 1) throw new UsageException($"--max-tokens must be positive, got {MaxTokens}");
        if (MaxConcurrentRequests < 1) throw new UsageException($"--max-concurrent must be positive, got {MaxConcurrentRequests}");
        if (MaxBodyBytes < 1024) throw new UsageException($"--max-body-bytes must be at least 1024, got {MaxBodyBytes}");
        if (MaxBatch < 1) throw new UsageException($"--max-batch must be at least 1, got {MaxBatch}");
    }
}

/// <summary>
/// One loaded model made servable: the patterns requests may steer with, the limits, and the batch that every
/// request (HTTP or <see cref="ChatClient.AdaRasChatClient"/>) decodes in. The model stays owned by the caller.
/// </summary>
public sealed class ModelHost : IDisposable
{
    internal SteeringCatalog Steering { get; }
    internal ModelRunner Runner { get; }

    /// <summary>The model every request decodes with (owned by the caller).</summary>
    public AdaRas.Engine.LanguageModel Model { get; }
    /// <summary>The id clients name in "model" and /v1/models lists.</summary>
    public string ModelId { get; }
    /// <summary>The limits requests are checked against.</summary>
    public ServingLimits Limits { get; }
    /// <summary>The pattern names requests may steer with.</summary>
    public IReadOnlyCollection<string> PatternNames => Steering.Names;
    /// <summary>Steering for HTTP requests that carry none (e.g. a whole lm-evaluation-harness run); null: none.</summary>
    public SteeringRequest? DefaultSteering { get; }

    /// <summary>Loads the patterns (and their gates) for <paramref name="model"/> and starts its batch.</summary>
    public ModelHost(AdaRas.Engine.LanguageModel model, IEnumerable<ServedPattern>? patterns = null, ServingLimits? limits = null, string? modelId = null,
        SteeringRequest? defaultSteering = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Limits = limits ?? new ServingLimits();
        Limits.Validate();
        Model = model;
        ModelId = modelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Folder));
        Steering = new SteeringCatalog(model, patterns ?? []);
        if (defaultSteering is not null)
        {
            try { Steering.Resolve(defaultSteering); } // refuse a bad default at start, not on every request
            catch (RequestException e) { Steering.Dispose(); throw new ArgumentException($"--default-steering: {e.Message}"); }
            DefaultSteering = defaultSteering;
        }
        Runner = new ModelRunner(model, Steering, Limits.MaxConcurrentRequests, Limits.MaxBatch);
    }

    /// <summary>Tokenizes a prompt and applies the prompt-length limit.</summary>
    internal int[] Encode(string text, string param)
    {
        var ids = Model.Tokenizer.Encode(text);
        CheckPromptLength(ids.Length, param);
        return ids;
    }

    internal void CheckPromptLength(int tokens, string param)
    {
        if (tokens == 0) throw RequestException.Invalid($"{param} is empty", param);
        if (tokens > Limits.MaxPromptTokens)
            throw RequestException.Invalid($"{param} is {tokens} tokens; this server accepts at most {Limits.MaxPromptTokens}", param, "context_length_exceeded");
        if (tokens >= Model.Manifest.ContextLength)
            throw RequestException.Invalid($"{param} is {tokens} tokens; the model's context is {Model.Manifest.ContextLength}", param, "context_length_exceeded");
    }

    internal void CheckMaxTokens(int maxTokens, string param)
    {
        if (maxTokens < 0) throw RequestException.Invalid($"{param} must be >= 0, got {maxTokens}", param);
        if (maxTokens > Limits.MaxTokens)
            throw RequestException.Invalid($"{param} is {maxTokens}; this server allows at most {Limits.MaxTokens}", param);
    }

    /// <summary>Stops the batch and releases the steerers; the model stays the caller's.</summary>
    public void Dispose()
    {
        Runner.Dispose();   // the batch thread first: it is the one touching the steerers
        Steering.Dispose();
    }
}
