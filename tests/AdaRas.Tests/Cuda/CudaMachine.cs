using ILGPU.Runtime.Cuda;
using Microsoft.ML.OnnxRuntime;

namespace AdaRas.Tests.Cuda;

/// <summary>
/// Whether this test run can use an NVIDIA GPU: a CUDA build (<c>-p:AdaRasCuda=true</c>), ONNX Runtime's CUDA
/// provider compiled in, and a device ILGPU can see. Tests in the <c>Cuda</c> category are skipped (with the
/// reason) everywhere else, so they compile and run on every machine and cannot rot.
/// </summary>
static class CudaMachine
{
    static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Why no GPU can be used here, or null when one can.</summary>
    public static string? WhyUnavailable => Missing.Value;

    public static void Require()
    {
        if (WhyUnavailable is { } why) Assert.Ignore($"no GPU for this run: {why}");
    }

    static string? Probe()
    {
#if !ADARAS_CUDA
        return "a CPU build (build or publish with -p:AdaRasCuda=true; tools/cuda/pack.sh does)";
#else
        if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            return "this ONNX Runtime has no CUDA execution provider";
        try
        {
            using var context = ILGPU.Context.Create(builder => builder.Cuda());
            return context.GetCudaDevices().Count == 0
                ? "ILGPU sees no CUDA device (no NVIDIA driver?)" : null;
        }
        catch (Exception e)
        {
            return $"the CUDA driver could not be loaded ({e.GetType().Name}: {e.Message})";
        }
#endif
    }
}
