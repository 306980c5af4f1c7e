using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AdaRas.Engine.Decoding;

/// <summary>
/// The KV cache of a batch: per layer one key and one value block [rows, kv_heads, capacity, head_dim], allocated
/// once and bound as both past and present, so GroupQueryAttention appends in place. Rows are contiguous, so one
/// row ([1, ...] at the row's offset, for prefill) and the first k rows ([k, ...], for a decode step) are plain
/// views of the same memory; each row's valid length is told to the graph through the attention mask.
/// </summary>
sealed unsafe class KvCache : IDisposable
{
    readonly ModelManifest _m;
    readonly TensorElementType _type;
    readonly OrtMemoryInfo _memory;
    readonly nint[] _blocks;                 // key, value per layer
    readonly OrtValue?[] _owned;
    readonly OrtAllocator? _allocator;
    readonly Dictionary<(int Start, int Count), OrtValue[]> _views = new();
    readonly long _rowElements;
    readonly int _elementSize;

    public int Rows { get; }
    public int Capacity { get; }

    public KvCache(LanguageModel model, int rows, int capacity)
    {
        _m = model.Manifest;
        Rows = rows; Capacity = capacity;
        _type = model.CacheElementType;
        _elementSize = _type == TensorElementType.Float16 ? 2 : 4;
        _rowElements = (long)_m.NumKeyValueHeads * capacity * _m.HeadDim;
        _blocks = new nint[2 * _m.NumLayers];
        _owned = new OrtValue[_blocks.Length];
        bool host = model.Options.Provider == ExecutionProvider.Cpu;
        _memory = host ? OrtMemoryInfo.DefaultInstance : model.DeviceMemory;
        _allocator = host ? null : new OrtAllocator(model.Session, model.DeviceMemory);
        try
        {
            for (int i = 0; i < _blocks.Length; i++)
            {
                _owned[i] = OrtValue.CreateAllocatedTensorValue(_allocator ?? OrtAllocator.DefaultInstance, _type, [rows, _m.NumKeyValueHeads, capacity, _m.HeadDim]);
                // The address only (device memory is never read from here): views at row offsets wrap it.
                fixed (byte* p = _owned[i]!.GetTensorMutableRawData()) _blocks[i] = (nint)p;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Binds rows [start, start + count) as past and present of every layer.</summary>
    public void Bind(OrtIoBinding binding, int start, int count)
    {
        if (start < 0 || count < 1 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count));
        if (Bound == (start, count)) return;
        if (!_views.TryGetValue((start, count), out var views))
        {
            views = new OrtValue[_blocks.Length];
            long[] shape = [count, _m.NumKeyValueHeads, Capacity, _m.HeadDim];
            long length = count * _rowElements * _elementSize;
            for (int i = 0; i < views.Length; i++)
                views[i] = OrtValue.CreateTensorValueWithData(_memory, _type, shape, _blocks[i] + (nint)(start * _rowElements * _elementSize), length);
            _views[(start, count)] = views;
        }
        Bound = (start, count);
        for (int l = 0; l < _m.NumLayers; l++)
        {
            binding.BindInput(GraphNames.PastKey(l), views[2 * l]);
            binding.BindOutput(GraphNames.PresentKey(l), views[2 * l]);
            binding.BindInput(GraphNames.PastValue(l), views[2 * l + 1]);
            binding.BindOutput(GraphNames.PresentValue(l), views[2 * l + 1]);
        }
    }

    public void Dispose()
    {
        foreach (var views in _views.Values)
            foreach (var v in views) v.Dispose();
        _views.Clear();
        for (int i = 0; i < _owned.Length; i++)
        {
            _owned[i]?.Dispose();
            _owned[i] = null;
        }
        _allocator?.Dispose();
    }

    /// <summary>The currently bound rows, so a caller rebinds only on change.</summary>
    public (int Start, int Count) Bound { get; private set; } = (-1, 0);
}
