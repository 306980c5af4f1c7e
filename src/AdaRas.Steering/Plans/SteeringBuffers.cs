using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Steering.Kernels;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Microsoft.ML.OnnxRuntime;

namespace AdaRas.Steering.Plans;

/// <summary>
/// The dense per-layer <c>scale</c> and <c>shift</c> vectors (float32, <c>I</c> each) that the ONNX Runtime
/// session binds to the graph inputs <c>steering.{l}.scale</c> / <c>steering.{l}.shift</c>. Both live in
/// one ILGPU buffer each, layer after layer, so the pointers stay fixed for the buffers' lifetime and the
/// engine can wrap them in OrtValues once, without copying.
/// </summary>
/// <remarks>
/// On the CPU accelerator a pointer is unmanaged host memory (ILGPU allocates it with AllocHGlobal; the GC
/// never moves it). On CUDA it is a device pointer in the primary context (see <see cref="KernelDevice"/>):
/// bind it as CUDA memory, and call <see cref="KernelDevice.Synchronize"/> (done by <see cref="SteeringPlan"/>)
/// before ORT reads it, since ILGPU and ORT use different streams.
/// </remarks>
internal sealed class SteeringBuffers : IDisposable
{
    readonly MemoryBuffer1D<float, Stride1D.Dense> _scale, _shift;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>> _fillIdentity;
    OrtMemoryInfo? _cudaMemoryInfo;
    bool _disposed;

    public KernelDevice Device { get; }
    public int Layers { get; }
    public int IntermediateSize { get; }
    /// <summary>True when <see cref="ScalePointer"/>/<see cref="ShiftPointer"/> are CUDA device pointers.</summary>
    public bool PointersAreDeviceMemory => Device.UsesDeviceMemory;

    public SteeringBuffers(KernelDevice device, int layers, int intermediateSize)
    {
        device.ThrowIfDisposed();
        if (layers <= 0 || intermediateSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(layers), $"{layers} x {intermediateSize}: sizes must be positive");
        Device = device;
        Layers = layers;
        IntermediateSize = intermediateSize;
        var acc = device.Accelerator;
        _scale = acc.Allocate1D<float>((long)layers * intermediateSize);
        _shift = acc.Allocate1D<float>((long)layers * intermediateSize);
        _fillIdentity = acc.LoadKernel<ArrayView<float>, ArrayView<float>>(NeuronKernels.FillIdentity);
        ResetToIdentity();
    }

    internal ArrayView<float> ScaleAll => _scale.View;
    internal ArrayView<float> ShiftAll => _shift.View;

    /// <summary>scale = 1, shift = 0 everywhere (the graph then computes plain Qwen3).</summary>
    public void ResetToIdentity()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var acc = Device.Accelerator;
        _fillIdentity(acc.DefaultStream, KernelLaunch.For(acc, _scale.Length), _scale.View, _shift.View);
        Device.Synchronize();
    }

    public ArrayView<float> Scale(int layer) => _scale.View.SubView(Offset(layer), IntermediateSize);
    public ArrayView<float> Shift(int layer) => _shift.View.SubView(Offset(layer), IntermediateSize);

    /// <summary>Address of layer <paramref name="layer"/>'s scale vector (host or CUDA device memory).</summary>
    public IntPtr ScalePointer(int layer) => _scale.NativePtr + (nint)(Offset(layer) * sizeof(float));
    /// <summary>Address of layer <paramref name="layer"/>'s shift vector (host or CUDA device memory).</summary>
    public IntPtr ShiftPointer(int layer) => _shift.NativePtr + (nint)(Offset(layer) * sizeof(float));

    /// <summary>Bytes in one layer's vector (for wrapping a pointer in an OrtValue).</summary>
    public long LayerByteLength => (long)IntermediateSize * sizeof(float);

    /// <summary>
    /// The engine's steering inputs over these buffers, without a copy: host memory on the CPU accelerator, CUDA
    /// memory (device id of the accelerator) on CUDA. The buffers must outlive the returned tensors.
    /// </summary>
    public SteeringTensors ToSteeringTensors(ModelManifest manifest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (manifest.NumLayers != Layers || manifest.IntermediateSize != IntermediateSize)
            throw new ArgumentException(
                $"model {manifest.ModelId} has {manifest.NumLayers} x {manifest.IntermediateSize} neurons, the steering buffers {Layers} x {IntermediateSize}");
        if (Device.UsesDeviceMemory)
            _cudaMemoryInfo ??= new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator,
                ((CudaAccelerator)Device.Accelerator).DeviceId, OrtMemType.Default);
        return SteeringTensors.Wrap(manifest, ScalePointer(0), ShiftPointer(0), _cudaMemoryInfo);
    }

    public float[] ScaleToHost() { Device.Synchronize(); return _scale.GetAsArray1D(); }
    public float[] ShiftToHost() { Device.Synchronize(); return _shift.GetAsArray1D(); }

    long Offset(int layer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (layer < 0 || layer >= Layers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be between 0 and {Layers - 1}");
        return (long)layer * IntermediateSize;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _scale.Dispose();
        _shift.Dispose();
        _cudaMemoryInfo?.Dispose();
    }
}
