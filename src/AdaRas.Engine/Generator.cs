using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

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
/// One sequence being generated: owns the KV cache (allocated once, bound as both past and present so ONNX
/// Runtime's GroupQueryAttention updates it in place), the I/O binding, the sampler and, for steerable
/// models, the steering tensors and activation taps. Typical use:
/// <code>
/// using var gen = new Generator(model, new GeneratorParams { MaxNewTokens = 64 });
/// gen.AppendTokens(promptIds);
/// while (!gen.IsDone) gen.GenerateNextToken();
/// </code>
/// Steering may be changed between steps; taps describe the most recent forward call.
/// </summary>
public sealed class Generator : IDisposable
{
    readonly LanguageModel _model;
    readonly ModelManifest _m;
    readonly GeneratorParams _params;
    readonly Sampler _sampler;
    readonly OrtIoBinding _binding;
    readonly RunOptions _runOptions = new();
    readonly HashSet<int> _stopIds;
    readonly List<int> _sequence = new();
    readonly List<IDisposable> _owned = new();

    OrtValue[]? _cache;            // key and value per layer, [1, kv_heads, capacity, head_dim]
    long[] _ids = [];              // input_ids staging, reused
    long[] _mask = [];             // all ones; attention_mask is a prefix of it
    readonly long[] _logitsFrom = [-1];
    readonly float[] _lastLogits;
    readonly OrtValue _lastLogitsValue;
    float[] _allLogits = [];

    // Taps (steerable models only): host buffers ONNX Runtime writes into at every call.
    readonly float[]? _tapLast, _tapSumCall;
    readonly OrtValue? _tapLastValue, _tapSumValue;
    readonly float[]? _tapSum;
    OrtValue[] _featureIndexValues = [];   // per-layer local indices; replaced (and disposed) by SetFeatureIndices
    int _featureCount;
    readonly List<float> _features = new();
    SteeringTensors? _steering;

    public int Capacity { get; private set; }
    /// <summary>Tokens in the KV cache (prompt and generated).</summary>
    public int Length => _sequence.Count;
    public IReadOnlyList<int> Sequence => _sequence;
    public int PromptLength { get; private set; }
    public int GeneratedCount => _sequence.Count - PromptLength;
    /// <summary>True after a stop token, at MaxNewTokens, or when the cache is full.</summary>
    public bool IsDone => _sequence.Count > 0 && (_stopped || GeneratedCount >= _params.MaxNewTokens || _sequence.Count >= Capacity);
    /// <summary>True when generation ended on a stop token (not on a length limit).</summary>
    public bool StoppedOnStopToken => _stopped;
    bool _stopped;
    public int LastToken => _sequence.Count > 0 ? _sequence[^1] : throw new InvalidOperationException("no tokens yet");
    /// <summary>Tokens per forward call when appending long inputs (memory stays flat whatever the length).</summary>
    public int ChunkSize { get; init; } = 512;

    public Generator(LanguageModel model, GeneratorParams? generatorParams = null)
    {
        _model = model;
        _m = model.Manifest;
        _params = generatorParams ?? new GeneratorParams();
        _sampler = new Sampler(_params);
        _stopIds = new HashSet<int>(_params.StopTokenIds ?? model.Generation.EosTokenIds);
        _binding = model.Session.CreateIoBinding();

        _lastLogits = new float[_m.VocabSize];
        _lastLogitsValue = Own(OrtValue.CreateTensorValueFromMemory(_lastLogits, [1, 1, _m.VocabSize]));
        Own(BindInput(GraphNames.LogitsFrom, OrtValue.CreateTensorValueFromMemory(_logitsFrom, [1])));

        if (_m.Steerable)
        {
            int n = _m.NumLayers * _m.IntermediateSize;
            _tapLast = new float[n];
            _tapSumCall = new float[n];
            _tapSum = new float[n];
            _tapLastValue = Own(OrtValue.CreateTensorValueFromMemory(_tapLast, [1, _m.NumLayers, _m.IntermediateSize]));
            _tapSumValue = Own(OrtValue.CreateTensorValueFromMemory(_tapSumCall, [1, _m.NumLayers, _m.IntermediateSize]));
            _binding.BindOutput(GraphNames.TapLast, _tapLastValue);
            _binding.BindOutput(GraphNames.TapSum, _tapSumValue);
            SetFeatureIndices([]);
            // Bind identity steering up front rather than leaving the inputs to their initializers: measured on
            // ONNX Runtime 1.31, a run with unbound overridable initializers is several times slower per step on
            // small models (no difference at Qwen3 sizes).
            IdentitySteering().Bind(_binding);
        }
    }

    T Own<T>(T value) where T : IDisposable { _owned.Add(value); return value; }

    OrtValue BindInput(string name, OrtValue value) { _binding.BindInput(name, value); return value; }

    /// <summary>
    /// Steering read at every following step (null: none). The tensors stay owned by the caller and may be
    /// rewritten in place between steps.
    /// </summary>
    public SteeringTensors? Steering
    {
        get => _steering;
        set
        {
            if (value is null && _steering is null) return;
            if (!_m.Steerable) throw new InvalidOperationException("this model was exported without steering inputs (plain export)");
            value?.Validate();
            if (value is not null && (value.Layers != _m.NumLayers || value.IntermediateSize != _m.IntermediateSize))
                throw new ArgumentException($"steering tensors are {value.Layers} x {value.IntermediateSize}; the model needs {_m.NumLayers} x {_m.IntermediateSize}");
            _steering = value;
            (value ?? IdentitySteering()).Bind(_binding);
        }
    }

    SteeringTensors? _identity;
    SteeringTensors IdentitySteering() => _identity ??= Own(SteeringTensors.Create(_m));

    /// <summary>
    /// Neurons to gather per token into <see cref="Features"/> at every following call: global ids
    /// (layer * intermediate + index), any order; the tap returns them sorted ascending.
    /// </summary>
    public void SetFeatureIndices(IEnumerable<long> globalIds)
    {
        RequireTaps();
        var sorted = globalIds.Distinct().Order().ToArray();
        long total = (long)_m.NumLayers * _m.IntermediateSize;
        if (sorted.Length > 0 && (sorted[0] < 0 || sorted[^1] >= total))
            throw new ArgumentOutOfRangeException(nameof(globalIds), $"feature index {(sorted[0] < 0 ? sorted[0] : sorted[^1])} is outside the model's {total} neurons ({_m.NumLayers} layers x {_m.IntermediateSize})");
        foreach (var old in _featureIndexValues) old.Dispose();
        _featureIndexValues = new OrtValue[_m.NumLayers];
        for (int l = 0; l < _m.NumLayers; l++)
        {
            long lo = (long)l * _m.IntermediateSize, hi = lo + _m.IntermediateSize;
            var local = sorted.Where(i => i >= lo && i < hi).Select(i => i - lo).ToArray();
            _featureIndexValues[l] = BindInput(GraphNames.FeatureIndices(l), OrtValue.CreateTensorValueFromMemory(local, [local.Length]));
        }
        _featureCount = sorted.Length;
        _featuresValueLength = -1; // the features output changes width
        FeatureIds = sorted;
    }

    /// <summary>The gathered neuron ids, ascending (the column order of <see cref="Features"/>).</summary>
    public IReadOnlyList<long> FeatureIds { get; private set; } = [];

    void RequireTaps()
    {
        if (!_m.Steerable) throw new InvalidOperationException("this model was exported without taps (plain export)");
    }

    /// <summary>Logits of the last position of the most recent call with logits.</summary>
    public ReadOnlySpan<float> Logits => _lastLogits;

    /// <summary>After an <see cref="AppendTokens"/> with <see cref="LogitsScope.All"/>: logits [tokens, vocab].</summary>
    public ReadOnlySpan<float> AllLogits => _allLogits;

    /// <summary>Pre-steering MLP intermediate at the most recent call's last position, [layers * intermediate].</summary>
    public ReadOnlySpan<float> MlpLast { get { RequireTaps(); return _tapLast; } }

    /// <summary>Pre-steering MLP intermediate summed over every position of the most recent append or step, [layers * intermediate].</summary>
    public ReadOnlySpan<float> MlpSum { get { RequireTaps(); return _tapSum; } }

    /// <summary>Positions summed into <see cref="MlpSum"/>.</summary>
    public int MlpSumCount { get; private set; }

    /// <summary>Per-token activations at <see cref="FeatureIds"/> for the most recent append or step, [tokens, features].</summary>
    public ReadOnlySpan<float> Features { get { RequireTaps(); return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_features); } }

    /// <summary>
    /// Runs the model over <paramref name="tokens"/> after what is cached (in chunks of <see cref="ChunkSize"/>),
    /// leaving logits and taps for them. The first call fixes the cache capacity.
    /// </summary>
    public void AppendTokens(ReadOnlySpan<int> tokens, LogitsScope logits = LogitsScope.Last)
    {
        if (tokens.Length == 0) throw new ArgumentException("no tokens to append");
        foreach (var t in tokens)
            if (t < 0 || t >= _m.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{_m.VocabSize - 1})");
        EnsureCache(_sequence.Count + tokens.Length);

        if (logits == LogitsScope.All) _allLogits = new float[(long)tokens.Length * _m.VocabSize];
        BeginTapAccumulation();
        for (int start = 0; start < tokens.Length; start += ChunkSize)
        {
            var chunk = tokens.Slice(start, Math.Min(ChunkSize, tokens.Length - start));
            bool lastChunk = start + chunk.Length == tokens.Length;
            var scope = logits == LogitsScope.All ? LogitsScope.All : lastChunk ? logits : LogitsScope.None;
            Forward(chunk, scope, start);
        }
        // Appended tokens are the new prompt: generation limits count from here.
        PromptLength = _sequence.Count;
        _stopped = false;
    }

    /// <summary>Samples the next token from the current logits, appends it and, unless that ends generation, runs it through the model.</summary>
    public void GenerateNextToken()
    {
        if (_sequence.Count == 0) throw new InvalidOperationException("append a prompt first");
        if (IsDone) throw new InvalidOperationException("generation is done");
        int token = _sampler.Next(_lastLogits);
        if (_stopIds.Contains(token) || GeneratedCount + 1 >= _params.MaxNewTokens || _sequence.Count + 1 >= Capacity)
        {
            // Nothing will read the logits after this token, so skip its forward pass.
            _sequence.Add(token);
            _stopped = _stopIds.Contains(token);
            return;
        }
        BeginTapAccumulation();
        Forward([token], LogitsScope.Last, 0);
    }

    void EnsureCache(int needed)
    {
        if (_cache is null)
        {
            int capacity = _params.MaxLength ?? needed + _params.MaxNewTokens;
            if (needed > _m.ContextLength)
                throw new ArgumentException($"input of {needed} tokens is longer than the model's context of {_m.ContextLength} tokens");
            capacity = Math.Min(capacity, _m.ContextLength);
            if (needed > capacity)
                throw new ArgumentException($"input of {needed} tokens exceeds the generator's max length of {capacity} tokens");
            AllocateCache(capacity);
        }
        else if (needed > Capacity)
        {
            throw new ArgumentException($"appending would make {needed} tokens, more than the generator's max length of {Capacity} (set GeneratorParams.MaxLength)");
        }
    }

    void AllocateCache(int capacity)
    {
        Capacity = capacity;
        long[] shape = [1, _m.NumKeyValueHeads, capacity, _m.HeadDim];
        var allocator = _model.Options.Provider == ExecutionProvider.Cpu
            ? OrtAllocator.DefaultInstance
            : Own(new OrtAllocator(_model.Session, _model.DeviceMemory));
        _cache = new OrtValue[2 * _m.NumLayers];
        for (int l = 0; l < _m.NumLayers; l++)
        {
            // Past and present share one buffer: GroupQueryAttention appends the new keys/values in place.
            var key = _cache[2 * l] = Own(OrtValue.CreateAllocatedTensorValue(allocator, _model.CacheElementType, shape));
            var value = _cache[2 * l + 1] = Own(OrtValue.CreateAllocatedTensorValue(allocator, _model.CacheElementType, shape));
            _binding.BindInput(GraphNames.PastKey(l), key);
            _binding.BindOutput(GraphNames.PresentKey(l), key);
            _binding.BindInput(GraphNames.PastValue(l), value);
            _binding.BindOutput(GraphNames.PresentValue(l), value);
        }
        _mask = new long[capacity];
        Array.Fill(_mask, 1L);
    }

    void BeginTapAccumulation()
    {
        if (!_m.Steerable) return;
        Array.Clear(_tapSum!);
        MlpSumCount = 0;
        _features.Clear();
    }

    // Per-call tensors are cached by token count: a decode step (one token) then creates no ONNX values at all
    // except the attention mask, whose length grows by one every step.
    OrtValue? _idsValue, _featuresValue;
    int _idsValueLength = -1, _featuresValueLength = -1;
    float[] _featureBuffer = [];

    OrtValue IdsValue(int n)
    {
        if (_idsValue is not null && _idsValueLength == n) return _idsValue;
        _idsValue?.Dispose();
        if (_ids.Length < n) _ids = new long[n];
        _idsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _ids.AsMemory(0, n), [1, n]);
        _idsValueLength = n;
        return _idsValue;
    }

    OrtValue FeaturesValue(int n)
    {
        if (_featuresValue is not null && _featuresValueLength == n && _featureBuffer.Length == n * _featureCount) return _featuresValue;
        _featuresValue?.Dispose();
        _featureBuffer = new float[(long)n * _featureCount];
        _featuresValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _featureBuffer.AsMemory(), [1, n, _featureCount]);
        _featuresValueLength = n;
        return _featuresValue;
    }

    void Forward(ReadOnlySpan<int> tokens, LogitsScope scope, int logitsOffset)
    {
        int n = tokens.Length;
        var ids = IdsValue(n);
        for (int i = 0; i < n; i++) _ids[i] = tokens[i];
        int total = _sequence.Count + n;

        using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _mask.AsMemory(0, total), [1, total]);
        _binding.BindInput(GraphNames.InputIds, ids);
        _binding.BindInput(GraphNames.AttentionMask, mask);

        OrtValue? logitsValue = null;
        switch (scope)
        {
            case LogitsScope.Last:
                _logitsFrom[0] = -1;
                _binding.BindOutput(GraphNames.Logits, _lastLogitsValue);
                break;
            case LogitsScope.All:
                _logitsFrom[0] = 0;
                logitsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                    _allLogits.AsMemory(logitsOffset * _m.VocabSize, n * _m.VocabSize), [1, n, _m.VocabSize]);
                _binding.BindOutput(GraphNames.Logits, logitsValue);
                break;
            default:
                _logitsFrom[0] = long.MaxValue; // an empty slice: no vocabulary projection at all
                _binding.BindOutputToDevice(GraphNames.Logits, OrtMemoryInfo.DefaultInstance);
                break;
        }
        if (_m.Steerable) _binding.BindOutput(GraphNames.TapFeatures, FeaturesValue(n));

        try
        {
            _model.Session.RunWithBinding(_runOptions, _binding);
        }
        finally
        {
            logitsValue?.Dispose();
        }
        if (scope == LogitsScope.All)
            _allLogits.AsSpan((logitsOffset + n - 1) * _m.VocabSize, _m.VocabSize).CopyTo(_lastLogits);

        if (_m.Steerable)
        {
            var sum = _tapSum!;
            var call = _tapSumCall!;
            for (int i = 0; i < sum.Length; i++) sum[i] += call[i];
            MlpSumCount += n;
            _features.AddRange(_featureBuffer);
        }
        foreach (var t in tokens) _sequence.Add(t);
    }

    public void Dispose()
    {
        _idsValue?.Dispose();
        _featuresValue?.Dispose();
        foreach (var v in _featureIndexValues) v.Dispose();
        _binding.Dispose();
        _runOptions.Dispose();
        foreach (var d in _owned) d.Dispose();
    }
}
