namespace AdaRas.Engine;

/// <summary>
/// What a per-token callback may see and change between two forward passes of one sequence: how far it is, its
/// last token, the last position's pre-steering activations, and which steering is bound. A narrow view, so a
/// callback cannot append tokens or rewind the generator under the loop that drives it.
/// </summary>
public sealed class GenerationStep
{
    readonly GeneratorRow _row;

    internal GenerationStep(GeneratorRow row) => _row = row;

    /// <summary>Tokens generated after the prompt so far.</summary>
    public int GeneratedCount => _row.GeneratedCount;
    /// <summary>Whether generation has ended (then no forward pass ran after the last token and the taps are stale).</summary>
    public bool IsDone => _row.IsDone;
    /// <summary>The most recent token.</summary>
    public int LastToken => _row.LastToken;
    /// <summary>Pre-steering MLP intermediate at the most recent forward pass's last position, [layers * intermediate].</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public ReadOnlySpan<float> MlpLast => _row.MlpLast;
    /// <summary>The steering bound from the next forward pass on (null: none).</summary>
    public SteeringTensors? Steering
    {
        get => _row.Steering;
        set => _row.Steering = value;
    }
}

/// <summary>One row of a <see cref="BatchGenerator"/>: its tokens, state, logits, taps and steering.</summary>
public sealed class GeneratorRow
{
    readonly BatchGenerator _owner;
    readonly List<int> _sequence = new();
    GeneratorParams? _parameters;
    Sampler? _sampler;
    HashSet<int> _stopIds = [];
    bool _stopped;

    internal GeneratorRow(BatchGenerator owner, int index) { _owner = owner; Index = index; Step = new GenerationStep(this); }

    /// <summary>The narrow view of this row handed to per-step callbacks.</summary>
    internal GenerationStep Step { get; }

    /// <summary>Position of the row in its batch.</summary>
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
    /// <summary>Every token so far: prompt, then generated.</summary>
    public IReadOnlyList<int> Sequence => _sequence;
    /// <summary>Tokens appended before the first generated one.</summary>
    public int PromptLength { get; private set; }
    /// <summary>Tokens generated after the prompt.</summary>
    public int GeneratedCount => _sequence.Count - PromptLength;
    /// <summary>True after a stop token, at MaxNewTokens, or when the cache is full.</summary>
    public bool IsDone => _sequence.Count > 0 && Started &&
        (_stopped || GeneratedCount >= _parameters!.MaxNewTokens || _sequence.Count >= LengthLimit);
    /// <summary>Has a prompt and is not done: the next <see cref="BatchGenerator.Step"/> gives it a token.</summary>
    public bool IsGenerating => _sequence.Count > 0 && Started && !IsDone;
    /// <summary>True when generation ended on a stop token (not on a length limit).</summary>
    public bool StoppedOnStopToken => _stopped;
    /// <summary>The most recent token.</summary>
    public int LastToken => _sequence.Count > 0 ? _sequence[^1] : throw new InvalidOperationException("no tokens yet");

    /// <summary>Steering read for this row from its next forward pass on (null: none; identity for this row).</summary>
    public SteeringTensors? Steering
    {
        get => _owner.GetSteering(Index);
        set => _owner.SetSteering(Index, value);
    }

    /// <summary>Logits of the row's last position after its most recent forward pass (overwritten once the row is done and others step).</summary>
    public ReadOnlySpan<float> Logits => _owner.Logits(Index);
    /// <summary>After an append with <see cref="LogitsScope.All"/>: logits [tokens, vocab].</summary>
    public ReadOnlySpan<float> AllLogits => AllLogitsBuffer;
    /// <summary>Pre-steering MLP intermediate at the row's last position of its most recent forward pass, [layers * intermediate].</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public ReadOnlySpan<float> MlpLast => _owner.MlpLast(Index);
    /// <summary>Pre-steering MLP intermediate summed over every position of the most recent append or step.</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public ReadOnlySpan<float> MlpSum => _owner.MlpSum(Index);
    /// <summary>Positions summed into <see cref="MlpSum"/>.</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
    public int MlpSumCount => _owner.MlpSumCount(Index);
    /// <summary>Per-token activations at the batch's feature ids for the most recent append or step, [tokens, features].</summary>
    /// <exception cref="InvalidOperationException">That pass ran with <see cref="BatchGenerator.ActivationTaps"/> off.</exception>
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

    /// <summary>Back to unused: no parameters, no tokens (see <see cref="BatchGenerator.Release"/>).</summary>
    internal void Clear()
    {
        _parameters = null;
        _sampler = null;
        _stopIds = [];
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
