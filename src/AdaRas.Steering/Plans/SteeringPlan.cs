using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;
using ILGPU;
using ILGPU.Runtime;

namespace AdaRas.Steering.Plans;

/// <summary>
/// Steering of the top K neurons of a pattern with one method and strength alpha, written into a
/// <see cref="SteeringBuffers"/> by a kernel that scatters K (scale, shift) pairs into the dense per-layer
/// buffers; every other neuron keeps the identity map. The selection (ids, delta, mu+) stays on the device,
/// so changing alpha re-runs only the K-thread scatter.
/// </summary>
/// <remarks>
/// The buffers outlive plans: the engine binds their pointers once, and a new plan on the same buffers
/// first resets them to identity. Only the latest plan on a buffer set is meaningful.
/// </remarks>
internal sealed class SteeringPlan : IDisposable
{
    readonly MemoryBuffer1D<int, Stride1D.Dense> _ids;
    readonly MemoryBuffer1D<float, Stride1D.Dense> _delta, _muPlus;
    readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float,
        ArrayView<float>, ArrayView<float>> _scatter;
    bool _disposed;

    public SteeringBuffers Buffers { get; }
    public RcnPattern Pattern { get; }
    public SteeringMethod Method { get; }
    /// <summary>The steered neurons: the pattern's first K rows.</summary>
    public IReadOnlyList<PatternNeuron> Selected { get; }
    public float Alpha { get; private set; }

    SteeringPlan(SteeringBuffers buffers, RcnPattern pattern, IReadOnlyList<PatternNeuron> selected, SteeringMethod method)
    {
        Buffers = buffers; Pattern = pattern; Selected = selected; Method = method;
        var acc = buffers.Device.Accelerator;
        int k = selected.Count;
        _ids = acc.Allocate1D(selected.Select(n => checked((int)n.NeuronId)).ToArray());
        _delta = acc.Allocate1D(selected.Select(n => n.Delta).ToArray());
        // Only read by linear_blend and softplus_add, which require a pattern that has mu+.
        _muPlus = acc.Allocate1D(selected.Select(n => n.MuPlus ?? 0f).ToArray());
        _scatter = acc.LoadKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float,
            ArrayView<float>, ArrayView<float>>(NeuronKernels.Scatter);
    }

    /// <summary>
    /// Validates (pattern fits the buffers, 1 &lt;= K &lt;= rows, finite alpha, method supported by the pattern),
    /// resets the buffers to identity and scatters the selection.
    /// </summary>
    public static SteeringPlan Create(SteeringBuffers buffers, RcnPattern pattern, int neurons, float alpha, SteeringMethod method)
    {
        if (pattern.Shape.Layers != buffers.Layers || pattern.Shape.IntermediateSize != buffers.IntermediateSize)
            throw new AdaRas.Files.InputException(
                $"{pattern.SourcePath}: pattern is for {pattern.Shape.Layers} x {pattern.Shape.IntermediateSize} neurons, the steering buffers are {buffers.Layers} x {buffers.IntermediateSize}");
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "unknown steering method");
        CheckAlpha(alpha);
        var selected = pattern.Top(neurons);
        if (method.NeedsMuPlus()) pattern.RequireClassMeans(method.ToName());

        var plan = new SteeringPlan(buffers, pattern, selected, method);
        try
        {
            buffers.ResetToIdentity();
            plan.SetAlpha(alpha);
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>Rewrites the K steered neurons for a new alpha (one small kernel; the rest stays identity).</summary>
    public void SetAlpha(float alpha)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckAlpha(alpha);
        var device = Buffers.Device;
        _scatter(device.Accelerator.DefaultStream, KernelLaunch.For(device.Accelerator, Selected.Count), _ids.View, _delta.View, _muPlus.View, (int)Method, alpha,
            Buffers.ScaleAll, Buffers.ShiftAll);
        // ORT reads the buffers on its own stream: make sure the scatter has landed.
        device.Synchronize();
        Alpha = alpha;
    }

    static void CheckAlpha(float alpha)
    {
        if (!float.IsFinite(alpha)) throw new AdaRas.Files.UsageException($"alpha must be a finite number, got {alpha}");
    }

    public override string ToString() =>
        $"{Method.ToName()} alpha={Alpha} on the top {Selected.Count} of {Path.GetFileName(Pattern.SourcePath)}";

    /// <summary>Frees the selection; the buffers keep their current contents.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ids.Dispose();
        _delta.Dispose();
        _muPlus.Dispose();
    }
}
