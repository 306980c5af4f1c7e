using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;

namespace AdaRas.Steering;

/// <summary>How to steer: which pattern, how many of its neurons (K), how strongly (alpha), how, and where.</summary>
public sealed record SteeringOptions(string PatternPath)
{
    public int Neurons { get; init; } = 50;
    public float Alpha { get; init; } = 0.3f;
    public SteeringMethod Method { get; init; } = SteeringMethod.SteeringAdd;
    public SteeringPositions Positions { get; init; } = SteeringPositions.Last;

    public override string ToString() =>
        $"{Method.ToName()} alpha={Alpha} K={Neurons} positions={Positions.ToString().ToLowerInvariant()} pattern={Path.GetFileName(PatternPath)}";
}

/// <summary>
/// Everything steering needs for one loaded model, with one owner and one lifetime: the kernel device, the
/// dense scale/shift buffers the ONNX Runtime session reads in place, the plan that scatters the pattern's
/// top K neurons into them, and the engine tensors wrapping those buffers. Bind with
/// <see cref="Generator.Steering"/> = <see cref="Tensors"/>; change alpha between runs with <see cref="SetAlpha"/>.
/// </summary>
public sealed class Steerer : IDisposable
{
    readonly KernelDevice? _ownedDevice;
    readonly SteeringBuffers _buffers;
    readonly SteeringPlan _plan;

    public SteeringOptions Options { get; private set; }
    public RcnPattern Pattern => _plan.Pattern;
    public SteeringTensors Tensors { get; }

    Steerer(KernelDevice? ownedDevice, SteeringBuffers buffers, SteeringPlan plan, SteeringTensors tensors, SteeringOptions options)
    {
        _ownedDevice = ownedDevice; _buffers = buffers; _plan = plan; Tensors = tensors; Options = options;
    }

    /// <param name="device">Kernel device to use (kept by the caller); null creates a CPU one owned by the steerer.</param>
    public static Steerer Create(AdaRas.Engine.LanguageModel model, SteeringOptions options, KernelDevice? device = null)
    {
        var pattern = RcnPattern.Load(options.PatternPath, ModelShape.FromManifest(model.Manifest));
        return Create(model, pattern, options, device);
    }

    public static Steerer Create(AdaRas.Engine.LanguageModel model, RcnPattern pattern, SteeringOptions options, KernelDevice? device = null)
    {
        var owned = device is null ? KernelDevice.CreateCpu() : null;
        SteeringBuffers? buffers = null;
        SteeringPlan? plan = null;
        try
        {
            buffers = new SteeringBuffers(device ?? owned!, model.Manifest.NumLayers, model.Manifest.IntermediateSize);
            plan = SteeringPlan.Create(buffers, pattern, options.Neurons, options.Alpha, options.Method);
            var tensors = buffers.ToSteeringTensors(model.Manifest);
            tensors.Positions = options.Positions;
            return new Steerer(owned, buffers, plan, tensors, options);
        }
        catch
        {
            plan?.Dispose();
            buffers?.Dispose();
            owned?.Dispose();
            throw;
        }
    }

    /// <summary>One line for logs: the options, where the pattern came from, and how the steered neurons spread over layers.</summary>
    public string Describe()
    {
        var perLayer = _plan.Selected.GroupBy(n => n.Layer).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}");
        var source = Pattern.Sidecar is { } s ? $"identified on {s.DatasetName}" : $"{Pattern.Dialect} layout";
        return $"{Options} ({source}; steered neurons per layer {string.Join(' ', perLayer)})";
    }

    /// <summary>Rewrites the steered neurons for a new strength (a K-thread kernel; bound tensors see it at the next step).</summary>
    public void SetAlpha(float alpha)
    {
        _plan.SetAlpha(alpha);
        Options = Options with { Alpha = alpha };
    }

    public void Dispose()
    {
        Tensors.Dispose();
        _plan.Dispose();
        _buffers.Dispose();
        _ownedDevice?.Dispose();
    }
}
