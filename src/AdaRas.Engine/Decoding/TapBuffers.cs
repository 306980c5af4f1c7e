using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;

namespace AdaRas.Engine.Decoding;

/// <summary>
/// The activation taps of a steerable graph for a batch: mlp.last and mlp.sum are written by every call into
/// [rows, layers, I] host buffers (a call over rows [start, start + count) writes that slice); each row keeps its
/// own running sum and per-token features across the chunks of one append. The gathered neurons
/// (features.N.indices) are shared by all rows. A call bound with taps off skips them inside the graph
/// (taps_enabled false), and the rows it ran hold no taps until their next call with taps on.
/// </summary>
sealed class TapBuffers : IDisposable
{
    readonly ModelManifest _m;
    readonly int _width;                          // layers * intermediate
    readonly float[] _last, _sumCall;
    readonly Dictionary<(int, int), (OrtValue Last, OrtValue Sum)> _views = new();
    readonly float[][] _rowSum;
    readonly int[] _rowSumCount;
    readonly List<float>[] _rowFeatures;
    OrtValue[] _indexValues = [];
    OrtValue? _featuresValue;
    (int Rows, int Tokens, int Features) _featuresShape = (-1, -1, -1);
    bool _featuresBound;
    float[] _featureBuffer = [];
    (int, int) _boundRows = (-1, 0);
    readonly bool _switchable;                    // the graph has taps_enabled; older exports always compute taps
    readonly bool[] _enabled = [true];            // taps_enabled, bound once: every run reads its current value
    readonly OrtValue _enabledValue;
    readonly bool[] _rowHasTaps;

    public TapBuffers(ModelManifest manifest, int rows, OrtIoBinding binding)
    {
        _m = manifest;
        _width = manifest.NumLayers * manifest.IntermediateSize;
        _last = new float[(long)rows * _width];
        _sumCall = new float[_last.Length];
        _rowSum = new float[rows][];
        _rowSumCount = new int[rows];
        _rowFeatures = new List<float>[rows];
        for (int r = 0; r < rows; r++) { _rowSum[r] = new float[_width]; _rowFeatures[r] = new(); }
        _rowHasTaps = new bool[rows];
        _switchable = manifest.Inputs.Any(i => i.Name == GraphNames.TapsEnabled);
        _enabledValue = OrtValue.CreateTensorValueFromMemory(_enabled, [1]);
        if (_switchable) binding.BindInput(GraphNames.TapsEnabled, _enabledValue);
    }

    /// <summary>Whether the bound call computes the taps.</summary>
    bool Computed => _enabled[0];

    public int FeatureCount { get; private set; }
    public IReadOnlyList<long> FeatureIds { get; private set; } = [];

    public void SetFeatureIndices(OrtIoBinding binding, IEnumerable<long> globalIds)
    {
        var sorted = globalIds.Distinct().Order().ToArray();
        long total = (long)_m.NumLayers * _m.IntermediateSize;
        if (sorted.Length > 0 && (sorted[0] < 0 || sorted[^1] >= total))
            throw new ArgumentOutOfRangeException(nameof(globalIds), $"feature index {(sorted[0] < 0 ? sorted[0] : sorted[^1])} is outside the model's {total} neurons ({_m.NumLayers} layers x {_m.IntermediateSize})");
        foreach (var old in _indexValues) old.Dispose();
        _indexValues = new OrtValue[_m.NumLayers];
        for (int l = 0; l < _m.NumLayers; l++)
        {
            long lo = (long)l * _m.IntermediateSize, hi = lo + _m.IntermediateSize;
            var local = sorted.Where(i => i >= lo && i < hi).Select(i => i - lo).ToArray();
            _indexValues[l] = OrtValue.CreateTensorValueFromMemory(local, [local.Length]);
            binding.BindInput(GraphNames.FeatureIndices(l), _indexValues[l]);
        }
        FeatureCount = sorted.Length;
        FeatureIds = sorted;
    }

    /// <summary>
    /// Binds the tap outputs of a call over rows [start, start + count) with <paramref name="tokens"/> positions
    /// each, or, when <paramref name="enabled"/> is false and the graph can skip them, turns them off.
    /// </summary>
    public void Bind(OrtIoBinding binding, int start, int count, int tokens, bool enabled)
    {
        bool compute = enabled || !_switchable;
        if (!compute && Computed)
        {
            // The skipped branch returns empty tensors: let ONNX Runtime allocate them.
            foreach (var name in GraphNames.TapOutputs) binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
            _boundRows = (-1, 0);
            _featuresBound = false;
        }
        _enabled[0] = compute;
        if (!compute) return;
        if (_boundRows != (start, count))
        {
            if (!_views.TryGetValue((start, count), out var views))
            {
                long offset = (long)start * _width, length = (long)count * _width;
                views = (OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _last.AsMemory((int)offset, (int)length), [count, _m.NumLayers, _m.IntermediateSize]),
                         OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _sumCall.AsMemory((int)offset, (int)length), [count, _m.NumLayers, _m.IntermediateSize]));
                _views[(start, count)] = views;
            }
            binding.BindOutput(GraphNames.TapLast, views.Last);
            binding.BindOutput(GraphNames.TapSum, views.Sum);
            _boundRows = (start, count);
        }
        var shape = (count, tokens, FeatureCount);
        if (_featuresValue is null || _featuresShape != shape)
        {
            _featuresValue?.Dispose();
            _featureBuffer = new float[(long)count * tokens * FeatureCount];
            _featuresValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _featureBuffer.AsMemory(), [count, tokens, FeatureCount]);
            _featuresShape = shape;
            _featuresBound = false;
        }
        if (!_featuresBound) binding.BindOutput(GraphNames.TapFeatures, _featuresValue);
        _featuresBound = true;
    }

    /// <summary>Starts a row's append or step: its sum and features count from here.</summary>
    public void Begin(int row)
    {
        Array.Clear(_rowSum[row]);
        _rowSumCount[row] = 0;
        _rowFeatures[row].Clear();
        _rowHasTaps[row] = true;
    }

    /// <summary>After a call: adds slot <paramref name="slot"/> of the call's outputs to <paramref name="row"/>'s running values.</summary>
    public void Accumulate(int row, int slot, int tokens)
    {
        if (!Computed)
        {
            _rowHasTaps[row] = false;
            return;
        }
        var sum = _rowSum[row];
        var call = _sumCall.AsSpan(row * _width, _width);
        for (int i = 0; i < sum.Length; i++) sum[i] += call[i];
        _rowSumCount[row] += tokens;
        int perRow = tokens * FeatureCount;
        _rowFeatures[row].AddRange(_featureBuffer.AsSpan(slot * perRow, perRow));
    }

    /// <summary>After a decode step: the row's taps are this step's alone (no clearing when the step skipped them).</summary>
    public void AccumulateStep(int row)
    {
        if (Computed) Begin(row);
        Accumulate(row, row, 1);
    }

    public ReadOnlySpan<float> Last(int row) => _last.AsSpan(Checked(row) * _width, _width);
    public ReadOnlySpan<float> Sum(int row) => _rowSum[Checked(row)];
    public int SumCount(int row) => _rowSumCount[Checked(row)];
    public ReadOnlySpan<float> Features(int row) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_rowFeatures[Checked(row)]);

    int Checked(int row) => _rowHasTaps[row] ? row
        : throw new InvalidOperationException($"row {row}'s last call ran with activation taps off: set ActivationTaps before the call whose taps you read");

    public void Dispose()
    {
        foreach (var (last, sum) in _views.Values) { last.Dispose(); sum.Dispose(); }
        _views.Clear();
        foreach (var v in _indexValues) v.Dispose();
        _featuresValue?.Dispose();
        _enabledValue.Dispose();
    }
}
