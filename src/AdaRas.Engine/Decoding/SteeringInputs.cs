using System.Runtime.InteropServices;
using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AdaRas.Engine.Decoding;

/// <summary>
/// Steering as the graph reads it, per row: each row's <see cref="SteeringTensors"/> (null: identity). A call over
/// rows that all share one steering (or none) binds those tensors directly ([1, 1, I], broadcast over the batch:
/// no copy, in-place rewrites seen at once). A mix is copied at every step into [rows, 1, I] staging, the graph's
/// steer_batch dimension, with identity for the rows the gate leaves alone.
/// </summary>
sealed unsafe class SteeringInputs : IDisposable
{
    readonly ModelManifest _m;
    readonly int _rows;
    readonly SteeringTensors?[] _perRow;
    readonly SteeringTensors _identity;
    readonly bool[] _stagedIdentity;
    float* _scale, _shift;                       // staging, [layers][rows][I], allocated on first mixed step
    readonly Dictionary<int, OrtValue[]> _stagingViews = new();
    readonly long[] _from = [-1];
    readonly OrtValue _fromValue;
    object? _bound;                              // the SteeringTensors bound, or the staged row count

    public SteeringInputs(ModelManifest manifest, int rows)
    {
        _m = manifest;
        _rows = rows;
        _perRow = new SteeringTensors?[rows];
        _stagedIdentity = new bool[rows];
        _identity = SteeringTensors.Create(manifest);
        _fromValue = OrtValue.CreateTensorValueFromMemory(_from, [1]);
    }

    public SteeringTensors? this[int row]
    {
        get => _perRow[row];
        set
        {
            value?.Validate();
            if (value is not null && (value.Layers != _m.NumLayers || value.IntermediateSize != _m.IntermediateSize))
                throw new ArgumentException($"steering tensors are {value.Layers} x {value.IntermediateSize}; the model needs {_m.NumLayers} x {_m.IntermediateSize}");
            _perRow[row] = value;
        }
    }

    /// <summary>
    /// A prefill chunk of one row. Under <see cref="SteeringPositions.Last"/> only the appended input's last position
    /// is steered: chunks before the last one steer nothing (steering_from past the end), so a prompt longer than a
    /// chunk is steered exactly as if it ran in one call.
    /// </summary>
    public void BindPrefill(OrtIoBinding binding, int row, bool lastChunk)
    {
        var steering = _perRow[row] ?? _identity;
        BindDirect(binding, steering);
        _from[0] = steering.Positions == SteeringPositions.All ? 0 : lastChunk ? -1 : int.MaxValue;
    }

    /// <summary>A decode step over rows [0, count); <paramref name="live"/> marks the rows whose output is used.</summary>
    public void BindDecode(OrtIoBinding binding, int count, ReadOnlySpan<bool> live)
    {
        _from[0] = -1;
        SteeringTensors? shared = null;
        bool first = true, uniform = true;
        for (int r = 0; r < count && uniform; r++)
        {
            if (!live[r]) continue;
            if (first) { shared = _perRow[r]; first = false; }
            else if (!ReferenceEquals(shared, _perRow[r])) uniform = false;
        }
        if (uniform)
        {
            BindDirect(binding, shared ?? _identity);
            return;
        }
        Stage(count, live);
        if (_bound is int bound && bound == count) return;
        var views = StagingViews(count);
        for (int l = 0; l < _m.NumLayers; l++)
        {
            binding.BindInput(GraphNames.SteeringScale(l), views[2 * l]);
            binding.BindInput(GraphNames.SteeringShift(l), views[2 * l + 1]);
        }
        binding.BindInput(GraphNames.SteeringFrom, _fromValue);
        _bound = count;
    }

    void BindDirect(OrtIoBinding binding, SteeringTensors steering)
    {
        if (ReferenceEquals(_bound, steering)) return;
        steering.Bind(binding);
        binding.BindInput(GraphNames.SteeringFrom, _fromValue);
        _bound = steering;
    }

    void Stage(int count, ReadOnlySpan<bool> live)
    {
        int inter = _m.IntermediateSize;
        long block = (long)_rows * inter;
        if (_scale is null)
        {
            nuint bytes = (nuint)(_m.NumLayers * block * sizeof(float));
            _scale = (float*)NativeMemory.AlignedAlloc(bytes, 64);
            _shift = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        }
        for (int r = 0; r < count; r++)
        {
            var source = live[r] ? _perRow[r] : null;
            if (source is null)
            {
                // Identity stays in place until a steered row overwrites it.
                if (_stagedIdentity[r]) continue;
                source = _identity;
                _stagedIdentity[r] = true;
            }
            else
            {
                if (!source.IsHostMemory)
                    throw new NotSupportedException("rows with different steering need host-memory steering tensors (device buffers can only be shared by the whole batch)");
                _stagedIdentity[r] = false;
            }
            // Copied at every step: the owner may rewrite its tensors in place between steps.
            for (int l = 0; l < _m.NumLayers; l++)
            {
                source.Scale(l).CopyTo(new Span<float>(_scale + l * block + (long)r * inter, inter));
                source.Shift(l).CopyTo(new Span<float>(_shift + l * block + (long)r * inter, inter));
            }
        }
    }

    OrtValue[] StagingViews(int count)
    {
        if (_stagingViews.TryGetValue(count, out var views)) return views;
        int inter = _m.IntermediateSize;
        long block = (long)_rows * inter, bytes = (long)count * inter * sizeof(float);
        views = new OrtValue[2 * _m.NumLayers];
        for (int l = 0; l < _m.NumLayers; l++)
        {
            views[2 * l] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [count, 1, inter], (nint)(_scale + l * block), bytes);
            views[2 * l + 1] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [count, 1, inter], (nint)(_shift + l * block), bytes);
        }
        return _stagingViews[count] = views;
    }

    public void Dispose()
    {
        foreach (var views in _stagingViews.Values)
            foreach (var v in views) v.Dispose();
        _stagingViews.Clear();
        if (_scale is not null)
        {
            NativeMemory.AlignedFree(_scale);
            NativeMemory.AlignedFree(_shift);
            _scale = _shift = null;
        }
        _identity.Dispose();
        _fromValue.Dispose();
    }
}
