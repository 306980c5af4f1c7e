using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;

namespace AdaRas.Steering;

/// <summary>
/// How to steer: which pattern, how many of its neurons (K), how strongly (alpha), how, and where. The one
/// settings type for steering: the command line and experiment configs take their defaults from here.
/// </summary>
public sealed record SteeringOptions(string PatternPath)
{
    /// <summary>K by default: the paper's released configs steer 50 neurons.</summary>
    public const int DefaultNeurons = 50;
    /// <summary>Alpha by default, as a double because experiment configs (and their hashes) hold it as one; the paper tunes it in [0.1, 0.3].</summary>
    public const double DefaultAlpha = 0.3;
    /// <summary>The paper's method.</summary>
    public const SteeringMethod DefaultMethod = SteeringMethod.SteeringAdd;
    /// <summary>The paper's: the last prompt token at prefill, each new token at decode.</summary>
    public const SteeringPositions DefaultPositions = SteeringPositions.Last;

    /// <summary>K: the pattern's first K neurons are steered.</summary>
    public int Neurons { get; init; } = DefaultNeurons;
    /// <summary>Strength.</summary>
    public float Alpha { get; init; } = (float)DefaultAlpha;
    /// <summary>How each neuron is moved.</summary>
    public SteeringMethod Method { get; init; } = DefaultMethod;
    /// <summary>Which positions of each forward pass are steered.</summary>
    public SteeringPositions Positions { get; init; } = DefaultPositions;

    /// <summary>The options as one line for logs.</summary>
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
    SteeringPlan _plan;

    /// <summary>The options in force (alpha and K follow <see cref="SetAlpha"/> and <see cref="Retarget"/>).</summary>
    public SteeringOptions Options { get; private set; }
    internal RcnPattern Pattern => _plan.Pattern;
    /// <summary>The tensors to bind: <c>generator.Steering = steerer.Tensors</c>.</summary>
    public SteeringTensors Tensors { get; }

    Steerer(KernelDevice? ownedDevice, SteeringBuffers buffers, SteeringPlan plan, SteeringTensors tensors, SteeringOptions options)
    {
        _ownedDevice = ownedDevice; _buffers = buffers; _plan = plan; Tensors = tensors; Options = options;
    }

    /// <summary>Loads the pattern file, checks it against the model, and scatters its top K neurons into new buffers
    /// on a kernel device for the model's provider (the CPU accelerator, or the model's CUDA device).</summary>
    /// <exception cref="PatternFormatException">The pattern file does not parse or does not fit the model.</exception>
    public static Steerer Create(AdaRas.Engine.LanguageModel model, SteeringOptions options) => Create(model, options, device: null);

    /// <param name="device">Kernel device to use (kept by the caller); null creates one for the model's provider
    /// (<see cref="KernelDevice.ForModel"/>), owned by the steerer.</param>
    internal static Steerer Create(AdaRas.Engine.LanguageModel model, SteeringOptions options, KernelDevice? device)
    {
        var pattern = RcnPattern.Load(options.PatternPath, ModelShape.FromManifest(model.Manifest));
        return Create(model, pattern, options, device);
    }

    internal static Steerer Create(AdaRas.Engine.LanguageModel model, RcnPattern pattern, SteeringOptions options, KernelDevice? device = null)
    {
        var owned = device is null ? KernelDevice.ForModel(model) : null;
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

    /// <summary>
    /// Steers the pattern's first <paramref name="neurons"/> at <paramref name="alpha"/>: only the alpha kernel when K
    /// is unchanged, else a new plan on the same buffers (reset to identity first), so the result equals a fresh steerer's.
    /// </summary>
    public void Retarget(int neurons, float alpha)
    {
        if (neurons == Options.Neurons)
        {
            SetAlpha(alpha);
            return;
        }
        var plan = SteeringPlan.Create(_buffers, Pattern, neurons, alpha, Options.Method);
        _plan.Dispose();
        _plan = plan;
        Options = Options with { Neurons = neurons, Alpha = alpha };
    }

    /// <summary>Frees the tensors, plan, buffers and an owned kernel device.</summary>
    public void Dispose()
    {
        Tensors.Dispose();
        _plan.Dispose();
        _buffers.Dispose();
        _ownedDevice?.Dispose();
    }
}
