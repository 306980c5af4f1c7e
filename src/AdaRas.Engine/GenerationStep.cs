namespace AdaRas.Engine;

/// <summary>
/// What a per-token callback of <see cref="TextGeneration.Generate"/> may see and change between two forward
/// passes: how far generation is, the last position's pre-steering activations, and which steering is bound.
/// A narrow view, so a callback cannot append tokens or rewind the generator under the loop that drives it.
/// </summary>
public sealed class GenerationStep
{
    readonly Generator _generator;

    internal GenerationStep(Generator generator) => _generator = generator;

    /// <summary>Tokens generated so far.</summary>
    public int GeneratedCount => _generator.GeneratedCount;

    /// <summary>Whether generation has ended (then no forward pass ran after the last token and the taps are stale).</summary>
    public bool IsDone => _generator.IsDone;

    /// <summary>The last position's MLP intermediate activations before steering, all layers (see <see cref="Generator.MlpLast"/>).</summary>
    public ReadOnlySpan<float> MlpLast => _generator.MlpLast;

    /// <summary>The steering bound from the next forward pass on (null: none).</summary>
    public SteeringTensors? Steering
    {
        get => _generator.Steering;
        set => _generator.Steering = value;
    }
}
