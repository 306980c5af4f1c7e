namespace AdaRas.Engine;

/// <summary>
/// What a per-step callback sees of one sequence being generated: how far it is, its last token, the taps of its
/// most recent forward pass, and its steering, which it may switch for the following steps. Nothing else of the
/// generator is reachable through it.
/// </summary>
public interface IGenerationStep
{
    /// <summary>Tokens generated after the prompt so far.</summary>
    int GeneratedCount { get; }
    /// <summary>True after a stop token or a limit; then no forward pass ran for the last token and the taps are stale.</summary>
    bool IsDone { get; }
    int LastToken { get; }
    /// <summary>Pre-steering MLP intermediate at the most recent forward pass's last position, [layers * intermediate].</summary>
    ReadOnlySpan<float> MlpLast { get; }
    /// <summary>Steering read from the next forward pass on (null: none).</summary>
    SteeringTensors? Steering { get; set; }
}

/// <summary>One row of a <see cref="BatchGenerator"/>: its tokens, state, logits, taps and steering.</summary>
public sealed class GeneratorRow : IGenerationStep
{
    readonly BatchGenerator _owner;
    readonly List<int> _sequence = new();
    GeneratorParams? _parameters;
    Sampler? _sampler;
    HashSet<int> _stopIds = [];
    bool _stopped;

    internal GeneratorRow(BatchGenerator owner, int index) { _owner = owner; Index = index; }

    public int Index { get; }
    internal bool Started => _parameters is not null;
    internal GeneratorParams Parameters => _parameters!;
    internal Sampler Sampler => _sampler!;
    internal HashSet<int> StopIds => _stopIds;
    /// <summary>The row's own max length (GeneratorParams.MaxLength) within the batch's capacity.</summary>
    internal int LengthLimit => Math.Min(_parameters?.MaxLength ?? int.MaxValue, _owner.Capacity);
    internal float[] AllLogitsBuffer { get; set; } = [];

    /// <summary>Tokens in the row's cache (prompt and generated).</summary>
    public int Length => _sequence.Count;
    public IReadOnlyList<int> Sequence => _sequence;
    public int PromptLength { get; private set; }
    public int GeneratedCount => _sequence.Count - PromptLength;
    /// <summary>True after a stop token, at MaxNewTokens, or when the cache is full.</summary>
    public bool IsDone => _sequence.Count > 0 && Started &&
        (_stopped || GeneratedCount >= _parameters!.MaxNewTokens || _sequence.Count >= LengthLimit);
    /// <summary>Has a prompt and is not done: the next <see cref="BatchGenerator.Step"/> gives it a token.</summary>
    public bool IsGenerating => _sequence.Count > 0 && Started && !IsDone;
    /// <summary>True when generation ended on a stop token (not on a length limit).</summary>
    public bool StoppedOnStopToken => _stopped;
    public int LastToken => _sequence.Count > 0 ? _sequence[^1] : throw new InvalidOperationException("no tokens yet");

    public SteeringTensors? Steering
    {
        get => _owner.GetSteering(Index);
        set => _owner.SetSteering(Index, value);
    }

    /// <summary>Logits of the row's last position after its most recent forward pass (overwritten once the row is done and others step).</summary>
    public ReadOnlySpan<float> Logits => _owner.Logits(Index);
    /// <summary>After an append with <see cref="LogitsScope.All"/>: logits [tokens, vocab].</summary>
    public ReadOnlySpan<float> AllLogits => AllLogitsBuffer;
    public ReadOnlySpan<float> MlpLast => _owner.MlpLast(Index);
    /// <summary>Pre-steering MLP intermediate summed over every position of the most recent append or step.</summary>
    public ReadOnlySpan<float> MlpSum => _owner.MlpSum(Index);
    /// <summary>Positions summed into <see cref="MlpSum"/>.</summary>
    public int MlpSumCount => _owner.MlpSumCount(Index);
    /// <summary>Per-token activations at the batch's feature ids for the most recent append or step, [tokens, features].</summary>
    public ReadOnlySpan<float> Features => _owner.Features(Index);

    internal void Reset(GeneratorParams parameters, HashSet<int> stopIds)
    {
        _sampler = new Sampler(parameters);
        _parameters = parameters;
        _stopIds = stopIds;
        _sequence.Clear();
        PromptLength = 0;
        _stopped = false;
        AllLogitsBuffer = [];
    }

    internal void Append(ReadOnlySpan<int> tokens)
    {
        foreach (var t in tokens) _sequence.Add(t);
    }

    /// <summary>Appended tokens are the new prompt: generation limits count from here.</summary>
    internal void MarkPrompt()
    {
        PromptLength = _sequence.Count;
        _stopped = false;
    }

    internal void Finish(int token, bool stopped)
    {
        _sequence.Add(token);
        _stopped = stopped;
    }
}
