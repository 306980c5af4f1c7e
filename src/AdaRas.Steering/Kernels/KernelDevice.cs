using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace AdaRas.Steering.Kernels;

/// <summary>Which ILGPU accelerator runs the steering kernels.</summary>
internal enum KernelBackend { Cpu, Cuda }

/// <summary>
/// Owns the ILGPU context and the one accelerator that the RCN statistics, the ranking and the steering
/// scatter run on. The same kernel code runs on the CPU accelerator (default, and what tests and CI use)
/// and on a CUDA accelerator when a GPU is present.
/// </summary>
/// <remarks>
/// On CUDA the accelerator is moved onto the device's primary context (see <see cref="CudaPrimaryContext"/>),
/// because ONNX Runtime's CUDA provider works in that context and must be able to read the steering buffers
/// that these kernels write.
/// </remarks>
internal sealed class KernelDevice : IDisposable
{
    readonly CudaPrimaryContext? _primaryContext;
    bool _disposed;

    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public KernelBackend Backend { get; }
    /// <summary>True when buffer pointers are CUDA device pointers rather than host memory.</summary>
    public bool UsesDeviceMemory => Backend == KernelBackend.Cuda;
    /// <summary>True when the CUDA accelerator runs on the device's primary context (shared with ONNX Runtime).</summary>
    public bool OnPrimaryContext => _primaryContext is not null;

    KernelDevice(Context context, Accelerator accelerator, KernelBackend backend, CudaPrimaryContext? primary)
    {
        Context = context; Accelerator = accelerator; Backend = backend; _primaryContext = primary;
    }

    /// <summary>
    /// The device whose buffers <paramref name="model"/>'s session reads in place: a CUDA accelerator on the model's
    /// GPU (its primary context) when the model runs on ONNX Runtime's CUDA provider, else the CPU accelerator.
    /// </summary>
    public static KernelDevice ForModel(AdaRas.Engine.LanguageModel model) => ForProvider(model.Options.Provider, model.Options.CudaDeviceId);

    /// <summary>The kernel device that matches an ONNX Runtime execution provider (see <see cref="ForModel"/>).</summary>
    public static KernelDevice ForProvider(AdaRas.Engine.ExecutionProvider provider, int cudaDeviceId = 0) => provider switch
    {
        AdaRas.Engine.ExecutionProvider.Cpu => CreateCpu(),
        AdaRas.Engine.ExecutionProvider.Cuda => CreateCuda(cudaDeviceId),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "unknown execution provider"),
    };

    /// <summary>The CPU accelerator: plain host memory (unmanaged, never moved by the GC).</summary>
    public static KernelDevice CreateCpu()
    {
        var context = CreateContext();
        try { return CreateCpuOn(context); }
        catch { context.Dispose(); throw; }
    }

    /// <summary>
    /// A CUDA accelerator on the given device. With <paramref name="usePrimaryContext"/> (the default) the
    /// accelerator works in the device's primary context, so its buffers can be handed to ONNX Runtime's
    /// CUDA provider; without it, ILGPU's own private context is used (buffers then only valid for ILGPU).
    /// </summary>
    public static KernelDevice CreateCuda(int deviceIndex = 0, bool usePrimaryContext = true)
    {
        var context = CreateContext();
        try
        {
            var devices = context.GetCudaDevices();
            if (devices.Count == 0)
                throw new InvalidOperationException("no CUDA device is visible to ILGPU (is the NVIDIA driver installed?)");
            if (deviceIndex < 0 || deviceIndex >= devices.Count)
                throw new ArgumentOutOfRangeException(nameof(deviceIndex), $"CUDA device {deviceIndex} does not exist ({devices.Count} visible)");
            return CreateCudaOn(context, devices[deviceIndex], usePrimaryContext);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    static Context CreateContext() =>
        // Algorithms (radix sort) must be enabled on the context; the CPU device is always present,
        // CUDA devices only where the driver is.
        Context.Create(builder => builder.DefaultCPU().Cuda().EnableAlgorithms());

    static KernelDevice CreateCpuOn(Context context) =>
        new(context, context.CreateCPUAccelerator(0), KernelBackend.Cpu, null);

    static KernelDevice CreateCudaOn(Context context, CudaDevice device, bool usePrimaryContext)
    {
        var accelerator = device.CreateCudaAccelerator(context);
        if (!usePrimaryContext) return new KernelDevice(context, accelerator, KernelBackend.Cuda, null);
        try
        {
            var primary = CudaPrimaryContext.Adopt(accelerator);
            return new KernelDevice(context, accelerator, KernelBackend.Cuda, primary);
        }
        catch
        {
            accelerator.Dispose();
            throw;
        }
    }

    /// <summary>Blocks until every kernel queued on the default stream has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    public override string ToString() => Backend == KernelBackend.Cpu
        ? $"ILGPU CPU accelerator ({Accelerator.Name})"
        : $"ILGPU CUDA accelerator ({Accelerator.Name}, {(OnPrimaryContext ? "primary context" : "private context")})";

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// Disposes the accelerator and the context. Buffers allocated on this device (statistics, steering
    /// buffers) must be disposed first.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_primaryContext is not null) _primaryContext.DisposeAccelerator((CudaAccelerator)Accelerator);
        else Accelerator.Dispose();
        Context.Dispose();
    }
}
