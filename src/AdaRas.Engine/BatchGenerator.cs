using AdaRas.Engine.Decoding;
using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;

namespace AdaRas.Engine;

/// <summary>
/// Several sequences decoded together in one ONNX Runtime session: each decode step runs one forward pass over
/// the rows still generating ([rows, 1] tokens), so the weights are read once per step for all of them. Each row
/// has its own length (told to GroupQueryAttention through its attention-mask row), sampler, stop tokens,
/// limits, steering (the graph's steer_batch dimension) and taps; a finished row can be restarted with another
/// prompt while the others go on (continuous batching, see <see cref="BatchedGeneration"/>). Prompts run one row
/// at a time (a [1, n] prefill into the row's slice of the cache), so a row's tokens are the ones a
/// single-sequence <see cref="Generator"/> produces. Typical use:
/// <code>
/// using var batch = new BatchGenerator(model, rows: 8, capacity: 1024);
/// for (int r = 0; r &lt; 8; r++) { batch.Start(r, parameters); batch.AppendTokens(r, prompts[r]); }
/// while (batch.Step()) { }
/// </code>
/// </summary>
public sealed class BatchGenerator : IDisposable
{
    readonly LanguageModel _model;
    readonly ModelManifest _m;
    readonly OrtIoBinding _binding;
    readonly RunOptions _runOptions = new();
    readonly GeneratorRow[] _rows;
    readonly int? _fixedCapacity;
    KvCache? _cache;
    readonly SteeringInputs? _steering;
    readonly TapBuffers? _taps;

    // Logits of each row's last position, [rows, vocab]; a call over rows [s, s + k) writes that slice.
    readonly float[] _logits;
    readonly Dictionary<(int, int), OrtValue> _logitsViews = new();
    readonly long[] _logitsFrom = [-1];
    readonly OrtValue _logitsFromValue;

    // Per-call inputs: token ids cached by shape; the attention mask is rebuilt per call (its width changes).
    long[] _ids = [];
    OrtValue? _idsValue;
    (int, int) _idsShape = (-1, -1);
    long[] _mask = [];
    readonly bool[] _live;
    readonly int[] _pending, _lengths;

    /// <param name="rows">Sequences decoded together.</param>
    /// <param name="capacity">Tokens (prompt and generated) each row may hold; the KV cache is rows x capacity, allocated now.</param>
    public BatchGenerator(LanguageModel model, int rows, int capacity) : this(model, rows, (int?)capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity must be positive, got {capacity}");
        if (capacity > _m.ContextLength) throw new ArgumentException($"capacity {capacity} is longer than the model's context of {_m.ContextLength} tokens");
        AllocateCache(capacity);
    }

    /// <summary>Capacity null: fixed at the first append (prompt + MaxNewTokens), as a single generator does.</summary>
    internal BatchGenerator(LanguageModel model, int rows, int? capacity, bool _ = false)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"a batch needs at least one row, got {rows}");
        _model = model;
        _m = model.Manifest;
        _fixedCapacity = capacity;
        _binding = model.Session.CreateIoBinding();
        _logits = new float[(long)rows * _m.VocabSize];
        _logitsFromValue = OrtValue.CreateTensorValueFromMemory(_logitsFrom, [1]);
        _binding.BindInput(GraphNames.LogitsFrom, _logitsFromValue);
        _live = new bool[rows];
        _pending = new int[rows];
        _lengths = new int[rows];
        _rows = new GeneratorRow[rows];
        for (int r = 0; r < rows; r++) _rows[r] = new GeneratorRow(this, r);
        if (_m.Steerable)
        {
            _steering = new SteeringInputs(_m, rows);
            _taps = new TapBuffers(_m, rows, _binding);
            _taps.SetFeatureIndices(_binding, []);
            // Bind identity steering up front rather than leaving the inputs to their initializers: measured on
            // ONNX Runtime 1.31, a run with unbound overridable initializers is several times slower per step on
            // small models (no difference at Qwen3 sizes).
            _steering.BindPrefill(_binding, 0, lastChunk: true);
        }
    }

    /// <summary>The model every row runs on.</summary>
    public LanguageModel Model => _model;
    /// <summary>Rows (sequences) decoded together.</summary>
    public int Rows => _rows.Length;
    /// <summary>Tokens each row may hold (0 until the first append when it is chosen then).</summary>
    public int Capacity => _cache?.Capacity ?? 0;
    /// <summary>Tokens per forward call when appending long inputs (memory stays flat whatever the length).</summary>
    public int ChunkSize
    {
        get => _chunkSize;
        set => _chunkSize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"chunk size must be positive, got {value}");
    }
    int _chunkSize = 512;

    /// <summary>
    /// Compute the activation taps (each row's MlpLast, MlpSum and Features) in the following calls; true by default.
    /// False skips them inside the graph, so a steerable export generates at nearly a plain one's speed; a row's taps
    /// then throw until its next call with taps on. Exports from before this switch always compute them.
    /// </summary>
    public bool ActivationTaps { get; set; } = true;

    /// <summary>Row <paramref name="row"/>: its tokens, state, logits, taps and steering.</summary>
    public GeneratorRow this[int row] => _rows[row];

    /// <summary>True while some row is generating (has a prompt and is not done).</summary>
    public bool AnyGenerating => _rows.Any(r => r.IsGenerating);

    /// <summary>
    /// Empties <paramref name="row"/> for a new sequence generated with <paramref name="parameters"/> (its own
    /// sampler, seed, limits and stop tokens); its steering is cleared too.
    /// </summary>
    public void Start(int row, GeneratorParams parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var r = _rows[row];
        r.Reset(parameters, new HashSet<int>(parameters.StopTokenIds ?? _model.Generation.EosTokenIds));
        if (_steering is not null) _steering[row] = null;
        _taps?.Begin(row);
    }

    /// <summary>
    /// Frees <paramref name="row"/> at once, mid-generation or not (a server's client went away): it stops
    /// generating, drops its steering and rides along idle until the next <see cref="Start"/>; the others go on.
    /// </summary>
    public void Release(int row)
    {
        _rows[row].Clear();
        if (_steering is not null) _steering[row] = null;
        _taps?.Begin(row);
    }

    /// <summary>
    /// Neurons to gather per token into each row's <see cref="GeneratorRow.Features"/> at every following call:
    /// global ids (layer * intermediate + index), any order; the tap returns them sorted ascending.
    /// </summary>
    public void SetFeatureIndices(IEnumerable<long> globalIds) => RequireTaps().SetFeatureIndices(_binding, globalIds);

    /// <summary>The gathered neuron ids, ascending (the column order of the features).</summary>
    public IReadOnlyList<long> FeatureIds => RequireTaps().FeatureIds;

    TapBuffers RequireTaps() => _taps ?? throw new InvalidOperationException("this model was exported without taps (plain export)");

    internal SteeringTensors? GetSteering(int row) => _steering?[row];

    internal void SetSteering(int row, SteeringTensors? value)
    {
        if (_steering is null)
        {
            if (value is null) return;
            throw new InvalidOperationException("this model was exported without steering inputs (plain export)");
        }
        _steering[row] = value;
    }

    internal ReadOnlySpan<float> Logits(int row) => _logits.AsSpan(row * _m.VocabSize, _m.VocabSize);
    internal ReadOnlySpan<float> MlpLast(int row) => RequireTaps().Last(row);
    internal ReadOnlySpan<float> MlpSum(int row) => RequireTaps().Sum(row);
    internal int MlpSumCount(int row) => RequireTaps().SumCount(row);
    internal ReadOnlySpan<float> Features(int row) => RequireTaps().Features(row);

    /// <summary>
    /// Runs the model over <paramref name="tokens"/> after what <paramref name="row"/> holds (in chunks of
    /// <see cref="ChunkSize"/>), leaving its logits and taps for them; they become the row's prompt (generation
    /// limits count from here).
    /// </summary>
    public void AppendTokens(int row, ReadOnlySpan<int> tokens, LogitsScope logits = LogitsScope.Last)
    {
        var r = _rows[row];
        if (!r.Started) throw new InvalidOperationException($"row {row} has no generation parameters: call Start first");
        if (tokens.Length == 0) throw new ArgumentException("no tokens to append");
        foreach (var t in tokens)
            if (t < 0 || t >= _m.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{_m.VocabSize - 1})");
        EnsureCache(r.Length + tokens.Length, r.Parameters.MaxNewTokens);

        r.AllLogitsBuffer = logits == LogitsScope.All ? new float[(long)tokens.Length * _m.VocabSize] : [];
        _taps?.Begin(row);
        for (int start = 0; start < tokens.Length; start += ChunkSize)
        {
            var chunk = tokens.Slice(start, Math.Min(ChunkSize, tokens.Length - start));
            bool lastChunk = start + chunk.Length == tokens.Length;
            var scope = logits == LogitsScope.All ? LogitsScope.All : lastChunk ? logits : LogitsScope.None;
            Prefill(r, chunk, scope, start, lastChunk);
        }
        r.MarkPrompt();
    }

    /// <summary>
    /// One token for every generating row: each samples from its logits and appends; the rows that go on then run
    /// through the model together. A row that reaches a stop token or a limit skips that forward pass (nothing
    /// would read its logits). False when no row was generating.
    /// </summary>
    /// <param name="onRowFailure">
    /// Null: a row whose logits are unusable (NaN, infinite, all equal) throws <see cref="InvalidLogitsException"/>
    /// for the whole step. Given: that row is released and reported here, and the others step on (a server, where
    /// one request's steering must not fail the others).
    /// </param>
    public bool Step(Action<int, InvalidLogitsException>? onRowFailure = null)
    {
        int count = 0;
        bool any = false;
        for (int i = 0; i < _rows.Length; i++)
        {
            var r = _rows[i];
            _pending[i] = -1;
            if (!r.IsGenerating) continue;
            any = true;
            int token;
            try { token = r.Sampler.Next(Logits(i), r.Length); }
            catch (InvalidLogitsException e) when (onRowFailure is not null)
            {
                Release(i);
                onRowFailure(i, e);
                continue;
            }
            if (r.StopIds.Contains(token) || r.GeneratedCount + 1 >= r.Parameters.MaxNewTokens || r.Length + 1 >= r.LengthLimit)
            {
                r.Finish(token, r.StopIds.Contains(token));
                continue;
            }
            _pending[i] = token;
            count = i + 1;
        }
        if (count > 0) Decode(count);
        return any;
    }

    void EnsureCache(int needed, int maxNewTokens)
    {
        if (_cache is null)
        {
            // long: prompt + a huge MaxNewTokens must clamp to the context, not wrap to a negative capacity.
            int capacity = (int)Math.Min(_fixedCapacity ?? (long)needed + maxNewTokens, _m.ContextLength);
            if (needed > _m.ContextLength)
                throw new ContextLengthException(needed, _m.ContextLength, $"input of {needed} tokens is longer than the model's context of {_m.ContextLength} tokens");
            if (needed > capacity)
                throw new ContextLengthException(needed, capacity, $"input of {needed} tokens exceeds the generator's max length of {capacity} tokens");
            AllocateCache(capacity);
        }
        else if (needed > Capacity)
        {
            throw new ContextLengthException(needed, Capacity, $"appending would make {needed} tokens, more than the generator's max length of {Capacity} (set GeneratorParams.MaxLength)");
        }
    }

    void AllocateCache(int capacity)
    {
        _cache = new KvCache(_model, _rows.Length, capacity);
        _mask = new long[(long)_rows.Length * capacity];
    }

    OrtValue Ids(int rows, int tokens)
    {
        if (_idsValue is not null && _idsShape == (rows, tokens)) return _idsValue;
        _idsValue?.Dispose();
        if (_ids.Length < rows * tokens) _ids = new long[Math.Max(rows * tokens, _ids.Length * 2)];
        _idsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _ids.AsMemory(0, rows * tokens), [rows, tokens]);
        _idsShape = (rows, tokens);
        _binding.BindInput(GraphNames.InputIds, _idsValue);
        return _idsValue;
    }

    /// <summary>Binds the logits output unless that value is bound already (a decode step rebinds nothing it needs not).</summary>
    void BindLogits(OrtValue value)
    {
        if (ReferenceEquals(_boundLogits, value)) return;
        _binding.BindOutput(GraphNames.Logits, value);
        _boundLogits = value;
    }
    OrtValue? _boundLogits;

    OrtValue LogitsView(int start, int count)
    {
        if (_logitsViews.TryGetValue((start, count), out var v)) return v;
        return _logitsViews[(start, count)] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            _logits.AsMemory(start * _m.VocabSize, count * _m.VocabSize), [count, 1, _m.VocabSize]);
    }

    void Prefill(GeneratorRow r, ReadOnlySpan<int> tokens, LogitsScope scope, int logitsOffset, bool lastChunk)
    {
        int n = tokens.Length, row = r.Index;
        Ids(1, n);
        for (int i = 0; i < n; i++) _ids[i] = tokens[i];
        int total = r.Length + n;
        _mask.AsSpan(0, total).Fill(1L);
        using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _mask.AsMemory(0, total), [1, total]);
        _binding.BindInput(GraphNames.AttentionMask, mask);
        _cache!.Bind(_binding, row, 1);

        OrtValue? allLogits = null;
        switch (scope)
        {
            case LogitsScope.Last:
                _logitsFrom[0] = -1;
                BindLogits(LogitsView(row, 1));
                break;
            case LogitsScope.All:
                _logitsFrom[0] = 0;
                allLogits = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                    r.AllLogitsBuffer.AsMemory(logitsOffset * _m.VocabSize, n * _m.VocabSize), [1, n, _m.VocabSize]);
                BindLogits(allLogits);
                break;
            default:
                _logitsFrom[0] = long.MaxValue; // an empty slice: no vocabulary projection at all
                _binding.BindOutputToDevice(GraphNames.Logits, OrtMemoryInfo.DefaultInstance);
                _boundLogits = null;
                break;
        }
        _taps?.Bind(_binding, row, 1, n, ActivationTaps);
        _steering?.BindPrefill(_binding, row, lastChunk);
        try
        {
            _model.Session.RunWithBinding(_runOptions, _binding);
        }
        finally
        {
            allLogits?.Dispose();
        }
        if (scope == LogitsScope.All)
            r.AllLogitsBuffer.AsSpan((logitsOffset + n - 1) * _m.VocabSize, _m.VocabSize).CopyTo(_logits.AsSpan(row * _m.VocabSize, _m.VocabSize));
        _taps?.Accumulate(row, 0, n);
        r.Append(tokens);
    }

    /// <summary>
    /// One token for each pending row among rows [0, count). Rows in that range that are not pending (finished,
    /// or empty) ride along on a dummy token written just past their end, and their logits and taps are overwritten.
    /// </summary>
    void Decode(int count)
    {
        Ids(count, 1);
        int width = 0;
        for (int i = 0; i < count; i++)
        {
            var r = _rows[i];
            bool live = _pending[i] >= 0;
            _live[i] = live;
            _ids[i] = live ? _pending[i] : 0;
            int length = live || (r.Length > 0 && r.Length < Capacity) ? r.Length + 1 : 1;
            _lengths[i] = length;
            width = Math.Max(width, length);
        }
        for (int i = 0; i < count; i++)
        {
            var row = _mask.AsSpan(i * width, width);
            int length = _lengths[i];
            row[..length].Fill(1L);
            row[length..].Clear();
        }
        using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _mask.AsMemory(0, count * width), [count, width]);
        _binding.BindInput(GraphNames.AttentionMask, mask);
        _cache!.Bind(_binding, 0, count);
        _logitsFrom[0] = -1;
        BindLogits(LogitsView(0, count));
        _taps?.Bind(_binding, 0, count, 1, ActivationTaps);
        _steering?.BindDecode(_binding, count, _live);
        _model.Session.RunWithBinding(_runOptions, _binding);
        for (int i = 0; i < count; i++)
        {
            if (!_live[i]) continue;
            _taps?.AccumulateStep(i);
            _rows[i].Append([_pending[i]]);
        }
    }

    /// <summary>Frees the KV cache, the bound tensors and the binding.</summary>
    public void Dispose()
    {
        _idsValue?.Dispose();
        foreach (var v in _logitsViews.Values) v.Dispose();
        _logitsFromValue.Dispose();
        _taps?.Dispose();
        _steering?.Dispose();
        _cache?.Dispose();
        _binding.Dispose();
        _runOptions.Dispose();
    }
}
