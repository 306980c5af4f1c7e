using System.Runtime.InteropServices;
using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AdaRas.Engine;

/// <summary>Which positions of each forward call the steering affine applies to.</summary>
public enum SteeringPositions
{
    /// <summary>Only the call's last position: the last prompt token at prefill, each new token at decode (the paper's setting).</summary>
    Last,
    /// <summary>Every position of every call (prompt tokens too).</summary>
    All,
}

/// <summary>
/// The dense per-layer <c>scale</c> and <c>shift</c> vectors a steerable graph reads at every step
/// (<c>a' = a * scale + shift</c> on the MLP intermediate at the steered positions). One contiguous
/// [layers * intermediate] block each, either owned here (host memory) or wrapping memory that another
/// component writes in place — such as the ILGPU buffers of AdaRas.Steering — so changing steering between
/// decode steps costs no copy.
/// </summary>
public sealed unsafe class SteeringTensors : IDisposable
{
    readonly float* _scale, _shift;
    readonly bool _owned;
    readonly OrtValue[] _scaleValues, _shiftValues;
    SteeringPositions _positions = SteeringPositions.Last;

    /// <summary>Decoder layers (one scale and one shift tensor each).</summary>
    public int Layers { get; }
    /// <summary>Neurons per layer (the MLP intermediate width).</summary>
    public int IntermediateSize { get; }
    /// <summary>True when the buffers live on the host and can be read and written through spans.</summary>
    public bool IsHostMemory { get; }

    SteeringTensors(int layers, int inter, float* scale, float* shift, bool owned, OrtMemoryInfo memory, bool host)
    {
        Layers = layers; IntermediateSize = inter; _scale = scale; _shift = shift; _owned = owned; IsHostMemory = host;
        long bytes = (long)inter * sizeof(float);
        _scaleValues = new OrtValue[layers];
        _shiftValues = new OrtValue[layers];
        for (int l = 0; l < layers; l++)
        {
            _scaleValues[l] = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, [1, 1, inter], (nint)(scale + (long)l * inter), bytes);
            _shiftValues[l] = OrtValue.CreateTensorValueWithData(memory, TensorElementType.Float, [1, 1, inter], (nint)(shift + (long)l * inter), bytes);
        }
    }

    /// <summary>Identity steering (scale 1, shift 0) in host memory owned by this object.</summary>
    public static SteeringTensors Create(ModelManifest manifest)
    {
        RequireSteerable(manifest);
        nuint count = (nuint)((long)manifest.NumLayers * manifest.IntermediateSize);
        var scale = (float*)NativeMemory.AlignedAlloc(count * sizeof(float), 64);
        var shift = (float*)NativeMemory.AlignedAlloc(count * sizeof(float), 64);
        var t = new SteeringTensors(manifest.NumLayers, manifest.IntermediateSize, scale, shift, true, OrtMemoryInfo.DefaultInstance, true);
        t.Reset();
        return t;
    }

    /// <summary>
    /// Wraps dense [layers * intermediate] float32 buffers owned elsewhere (kept alive by the caller).
    /// <paramref name="memory"/> says where they live: host memory (ONNX Runtime's CPU info) or a CUDA device.
    /// </summary>
    public static SteeringTensors Wrap(ModelManifest manifest, nint scale, nint shift, OrtMemoryInfo? memory = null)
    {
        RequireSteerable(manifest);
        if (scale == 0 || shift == 0) throw new ArgumentException("steering buffers must not be null pointers");
        memory ??= OrtMemoryInfo.DefaultInstance;
        bool host = memory.GetDeviceType() == OrtMemoryInfoDeviceType.CPU;
        return new SteeringTensors(manifest.NumLayers, manifest.IntermediateSize, (float*)scale, (float*)shift, false, memory, host);
    }

    static void RequireSteerable(ModelManifest manifest)
    {
        if (!manifest.Steerable)
            throw new InvalidOperationException("this model was exported without steering inputs (plain export); re-export without --plain");
    }

    /// <summary>Which positions are steered; the generator turns it into the graph's steering_from per call.</summary>
    public SteeringPositions Positions
    {
        get => _positions;
        set => _positions = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), $"unknown steering positions {value}");
    }

    /// <summary>Layer <paramref name="layer"/>'s multipliers (host memory only), rewritable between steps.</summary>
    public Span<float> Scale(int layer) => HostSpan(_scale, layer);
    /// <summary>Layer <paramref name="layer"/>'s additive shifts (host memory only), rewritable between steps.</summary>
    public Span<float> Shift(int layer) => HostSpan(_shift, layer);
    /// <summary>Every layer's multipliers, [layers * intermediate] (host memory only).</summary>
    public Span<float> AllScales => HostSpan(_scale, -1);
    /// <summary>Every layer's shifts, [layers * intermediate] (host memory only).</summary>
    public Span<float> AllShifts => HostSpan(_shift, -1);

    Span<float> HostSpan(float* basePtr, int layer)
    {
        if (!IsHostMemory) throw new InvalidOperationException("steering buffers live on the device; write them with the device kernels");
        if (layer < 0) return new Span<float>(basePtr, checked(Layers * IntermediateSize));
        if (layer >= Layers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} outside 0..{Layers - 1}");
        return new Span<float>(basePtr + (long)layer * IntermediateSize, IntermediateSize);
    }

    /// <summary>Back to identity: no steering.</summary>
    public void Reset()
    {
        AllScales.Fill(1f);
        AllShifts.Clear();
    }

    /// <summary>Refuses NaN or infinite values, naming the first offending layer and neuron.</summary>
    public void Validate()
    {
        if (!IsHostMemory) return;
        for (int l = 0; l < Layers; l++)
        {
            CheckFinite(Scale(l), "scale", l);
            CheckFinite(Shift(l), "shift", l);
        }
    }

    static void CheckFinite(Span<float> values, string what, int layer)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new ArgumentException($"steering.{layer}.{what}[{i}] is {values[i]}; steering values must be finite");
    }

    /// <summary>Binds the scale and shift inputs ([1, 1, I] per layer, broadcast over the batch).</summary>
    internal void Bind(OrtIoBinding binding)
    {
        for (int l = 0; l < Layers; l++)
        {
            binding.BindInput(GraphNames.SteeringScale(l), _scaleValues[l]);
            binding.BindInput(GraphNames.SteeringShift(l), _shiftValues[l]);
        }
    }

    /// <summary>Releases the tensors (and the buffers, when this object allocated them).</summary>
    public void Dispose()
    {
        foreach (var v in _scaleValues) v.Dispose();
        foreach (var v in _shiftValues) v.Dispose();
        if (_owned)
        {
            NativeMemory.AlignedFree(_scale);
            NativeMemory.AlignedFree(_shift);
        }
    }
}
