using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace AdaRas.Steering.Kernels;

/// <summary>
/// Moves an ILGPU <see cref="CudaAccelerator"/> onto the device's primary CUDA context.
/// </summary>
/// <remarks>
/// <para>Why: ONNX Runtime's CUDA provider uses the CUDA runtime API, which works in the device's primary
/// context. Memory allocated in another context is not mapped in the primary one, so an ILGPU device pointer
/// handed to ORT would fault; and ILGPU's thread-local <c>Bind()</c> skips <c>cuCtxSetCurrent</c> when it
/// believes it is already bound, so after ORT makes the primary context current ILGPU would launch into the
/// wrong context.</para>
/// <para>What ILGPU 1.5.3 offers (read from its source, Src/ILGPU/Runtime/Cuda): <c>CudaAccelerator</c> is
/// sealed; its only constructor is internal and always calls <c>cuCtxCreate_v2</c>;
/// <c>CudaDevice.CreateCudaAccelerator(context[, flags])</c> is the only public way in; <c>CudaAPI</c> binds
/// no <c>cuDevicePrimaryCtx*</c> function; <c>Accelerator.NativePtr</c> (the CUcontext) has a protected
/// setter; <c>OnBind</c> calls <c>cuCtxSetCurrent(NativePtr)</c>, allocations and module loads use the
/// current context, and disposal ends with <c>cuCtxDestroy_v2(NativePtr)</c>. So there is no supported way
/// to create a CudaAccelerator on the primary (or any existing) context.</para>
/// <para>How this works anyway: right after construction, when ILGPU has allocated nothing and loaded no
/// module in its own context, retain the primary context (<c>cuDevicePrimaryCtxRetain</c>, called here
/// directly), set <c>NativePtr</c> to it through reflection, make it current and destroy ILGPU's context.
/// From then on every ILGPU allocation and kernel lives in the primary context. At disposal the primary
/// context must not be destroyed (ORT may still use it): a sentinel child object, registered last, is
/// disposed after every other ILGPU child (buffers, kernels) and swaps <c>NativePtr</c> to a throwaway
/// context, which is what ILGPU's final <c>cuCtxDestroy_v2</c> then destroys; the primary context is
/// released with <c>cuDevicePrimaryCtxRelease</c>.</para>
/// <para>Checked on an NVIDIA H200 (driver 580.159): the buffers' <c>CU_POINTER_ATTRIBUTE_CONTEXT</c> is the
/// primary context (without adoption it is ILGPU's own); another thread with only the primary context current
/// reads them with <c>cuMemcpyDtoH</c>; ILGPU keeps working after other code used the primary context on the same
/// thread; after disposal the primary context is still active and memory allocated in it by others is intact;
/// a second accelerator can be adopted afterwards. ILGPU loads the driver as "cuda", i.e. <c>libcuda.so</c>,
/// which some systems ship only as <c>libcuda.so.1</c> (a symlink named libcuda.so is then needed).</para>
/// </remarks>
internal sealed unsafe class CudaPrimaryContext
{
    static readonly MethodInfo NativePtrSetter =
        typeof(Accelerator).GetProperty(nameof(Accelerator.NativePtr))?.GetSetMethod(nonPublic: true)
        ?? throw new MissingMethodException("ILGPU's Accelerator.NativePtr setter was not found (ILGPU version changed?)");

    readonly CudaDriver _driver;
    readonly int _device;
    bool _released;

    /// <summary>The primary CUcontext handle.</summary>
    public IntPtr Handle { get; }

    CudaPrimaryContext(CudaDriver driver, int device, IntPtr handle)
    {
        _driver = driver; _device = device; Handle = handle;
    }

    /// <summary>Moves a freshly created accelerator (nothing allocated on it yet) onto the primary context.</summary>
    public static CudaPrimaryContext Adopt(CudaAccelerator accelerator)
    {
        var driver = CudaDriver.Load();
        int device = driver.DeviceGet(accelerator.DeviceId);
        var primary = driver.PrimaryContextRetain(device);
        var own = accelerator.NativePtr;
        try
        {
            NativePtrSetter.Invoke(accelerator, [primary]);
            // The constructor bound the accelerator to this thread, so Bind() would now do nothing: set the
            // context directly. Other threads bind through OnBind, which reads the new NativePtr.
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.SetCurrentContext(primary));
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.DestroyContext(own));
        }
        catch
        {
            NativePtrSetter.Invoke(accelerator, [own]);
            CudaAPI.CurrentAPI.SetCurrentContext(own);
            driver.PrimaryContextRelease(device);
            throw;
        }
        return new CudaPrimaryContext(driver, device, primary);
    }

    /// <summary>Disposes the accelerator without destroying the primary context, then releases it.</summary>
    internal void DisposeAccelerator(CudaAccelerator accelerator)
    {
        if (_released) return;
        accelerator.Synchronize();
        // Registered last, so ILGPU disposes it after all other children, still in the primary context.
        var sentinel = new ContextSwapSentinel(accelerator);
        accelerator.Dispose();
        GC.KeepAlive(sentinel);
        _driver.PrimaryContextRelease(_device);
        _released = true;
    }

    /// <summary>An ILGPU child object whose disposal hands ILGPU a throwaway context to destroy.</summary>
    sealed class ContextSwapSentinel(CudaAccelerator accelerator) : AcceleratorObject(accelerator)
    {
        protected override void DisposeAcceleratorObject(bool disposing)
        {
            if (!disposing) return;
            var cuda = (CudaAccelerator)Accelerator;
            CudaException.ThrowIfFailed(
                CudaAPI.CurrentAPI.CreateContext(out var throwaway, CudaAcceleratorFlags.ScheduleAuto, cuda.DeviceId));
            NativePtrSetter.Invoke(cuda, [throwaway]);
        }
    }

    /// <summary>The few CUDA driver entry points ILGPU 1.5.3 does not bind, resolved from libcuda at run time.</summary>
    sealed class CudaDriver
    {
        readonly delegate* unmanaged<int*, int, int> _deviceGet;
        readonly delegate* unmanaged<IntPtr*, int, int> _primaryCtxRetain;
        readonly delegate* unmanaged<int, int> _primaryCtxRelease;

        CudaDriver(IntPtr lib)
        {
            _deviceGet = (delegate* unmanaged<int*, int, int>)NativeLibrary.GetExport(lib, "cuDeviceGet");
            _primaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)NativeLibrary.GetExport(lib, "cuDevicePrimaryCtxRetain");
            // cuda.h maps cuDevicePrimaryCtxRelease to the _v2 symbol since CUDA 11.
            _primaryCtxRelease = (delegate* unmanaged<int, int>)(
                NativeLibrary.TryGetExport(lib, "cuDevicePrimaryCtxRelease_v2", out var v2) ? v2
                : NativeLibrary.GetExport(lib, "cuDevicePrimaryCtxRelease"));
        }

        static CudaDriver? _instance;

        public static CudaDriver Load()
        {
            if (_instance is not null) return _instance;
            string name = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
            if (!NativeLibrary.TryLoad(name, out var lib))
                throw new DllNotFoundException($"the CUDA driver library '{name}' could not be loaded");
            return _instance = new CudaDriver(lib);
        }

        static void Check(int result, string call)
        {
            if (result != 0) throw new InvalidOperationException($"{call} failed with CUDA error {result}");
        }

        public int DeviceGet(int ordinal)
        {
            int device;
            Check(_deviceGet(&device, ordinal), $"cuDeviceGet({ordinal})");
            return device;
        }

        public IntPtr PrimaryContextRetain(int device)
        {
            IntPtr context;
            Check(_primaryCtxRetain(&context, device), $"cuDevicePrimaryCtxRetain({device})");
            return context;
        }

        public void PrimaryContextRelease(int device) =>
            Check(_primaryCtxRelease(device), $"cuDevicePrimaryCtxRelease({device})");
    }
}
