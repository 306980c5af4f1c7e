namespace AdaRas.Engine;

/// <summary>Which positions of a forward call get logits.</summary>
public enum LogitsScope
{
    /// <summary>Only the last position (what generation needs; skips the vocabulary projection elsewhere).</summary>
    Last,
    /// <summary>Every position (scoring a text token by token).</summary>
    All,
    /// <summary>None (teacher forcing that only reads the activation taps).</summary>
    None,
}

/// <summary>
/// One sequence being generated: a <see cref="BatchGenerator"/> of one row (the same KV cache, logits, input,
/// steering and tap parts), with the single-sequence API. Typical use:
/// <code>
/// using var gen = new Generator(model, new GeneratorParams { MaxNewTokens = 64 });
/// gen.AppendTokens(promptIds);
/// while (!gen.IsDone) gen.GenerateNextToken();
/// </code>
/// Steering may be changed between steps; taps describe the most recent forward call.
/// </summary>
public sealed class Generator : IDisposable
{
    readonly BatchGenerator _batch;
    readonly GeneratorRow _row;
    readonly bool _steerable;

    /// <summary>A one-sequence generator on <paramref name="model"/> (a one-row <see cref="BatchGenerator"/>); parameters are validated here.</summary>
    public Generator(LanguageModel model, GeneratorParams? generatorParams = null)
    {
        var parameters = generatorParams ?? new GeneratorParams();
        parameters.Validate();
        _steerable = model.Manifest.Steerable;
        _batch = new BatchGenerator(model, 1, parameters.MaxLength);
        _batch.Start(0, parameters);
        _row = _batch[0];
    }

    /// <summary>Tokens the KV cache holds (0 until the first append when it is chosen then).</summary>
    public int Capacity => _batch.Capacity;
    /// <summary>The narrow view per-step callbacks get.</summary>
    internal GenerationStep Step => _row.Step;
    /// <summary>Tokens in the KV cache (prompt and generated).</summary>
    public int Length => _row.Length;
    /// <summary>Every token so far: prompt, then generated.</summary>
    public IReadOnlyList<int> Sequence => _row.Sequence;
    /// <summary>Tokens appended before the first generated one.</summary>
    public int PromptLength => _row.PromptLength;
    /// <summary>Tokens generated after the prompt.</summary>
    public int GeneratedCount => _row.GeneratedCount;
    /// <summary>True after a stop token, at MaxNewTokens, or when the cache is full.</summary>
    public bool IsDone => _row.IsDone;
    /// <summary>True when generation ended on a stop token (not on a length limit).</summary>
    public bool StoppedOnStopToken => _row.StoppedOnStopToken;
    /// <summary>The most recent token.</summary>
    public int LastToken => _row.LastToken;
    /// <summary>Tokens per forward call when appending long inputs (memory stays flat whatever the length).</summary>
    public int ChunkSize { get => _batch.ChunkSize; init => _batch.ChunkSize = value; }

    /// <inheritdoc cref="BatchGenerator.ActivationTaps"/>
    public bool ActivationTaps { get => _batch.ActivationTaps; set => _batch.ActivationTaps = value; }

    /// <summary>
    /// Steering read at every following step (null: none). The tensors stay owned by the caller and may be
    /// rewritten in place between steps.
    /// </summary>
    public SteeringTensors? Steering
    {
        get => _row.Steering;
        set => _row.Steering = value;
    }

    /// <summary>
    /// Neurons to gather per token into <see cref="Features"/> at every following call: global ids
    /// (layer * intermediate + index), any order; the tap returns them sorted ascending.
    /// </summary>
    public void SetFeatureIndices(IEnumerable<long> globalIds) => _batch.SetFeatureIndices(globalIds);

    /// <summary>The gathered neuron ids, ascending (the column order of <see cref="Features"/>).</summary>
    public IReadOnlyList<long> FeatureIds => _batch.FeatureIds;

    /// <summary>Logits of the last position of the most recent call with logits.</summary>
    public ReadOnlySpan<float> Logits => _row.Logits;

    /// <summary>After an <see cref="AppendTokens"/> with <see cref="LogitsScope.All"/>: logits [tokens, vocab].</summary>
    public ReadOnlySpan<float> AllLogits => _row.AllLogits;

    /// <summary>Pre-steering MLP intermediate at the most recent call's last position, [layers * intermediate].</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public ReadOnlySpan<float> MlpLast => _row.MlpLast;

    /// <summary>Pre-steering MLP intermediate summed over every position of the most recent append or step, [layers * intermediate].</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public ReadOnlySpan<float> MlpSum => _row.MlpSum;

    /// <summary>Positions summed into <see cref="MlpSum"/>.</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public int MlpSumCount => _row.MlpSumCount;

    /// <summary>Per-token activations at <see cref="FeatureIds"/> for the most recent append or step, [tokens, features].</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public ReadOnlySpan<float> Features => _row.Features;

    /// <summary>
    /// Runs the model over <paramref name="tokens"/> after what is cached (in chunks of <see cref="ChunkSize"/>),
    /// leaving logits and taps for them. The first call fixes the cache capacity.
    /// </summary>
    public void AppendTokens(ReadOnlySpan<int> tokens, LogitsScope logits = LogitsScope.Last) => _batch.AppendTokens(0, tokens, logits);

    /// <summary>Samples the next token from the current logits, appends it and, unless that ends generation, runs it through the model.</summary>
    public void GenerateNextToken()
    {
        if (_row.Length == 0) throw new InvalidOperationException("append a prompt first");
        if (IsDone) throw new InvalidOperationException("generation is done");
        _batch.Step();
    }

    /// <summary>Frees the KV cache and the session bindings.</summary>
    public void Dispose() => _batch.Dispose();
}
