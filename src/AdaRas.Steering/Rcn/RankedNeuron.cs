namespace AdaRas.Steering.Rcn;

/// <summary>
/// One neuron of a ranking: its id (<c>layer * I + index</c>), the class means, their difference and the
/// polarity-aware ratio r = |delta| / (|mu+| + |mu-| + 1e-8).
/// </summary>
internal sealed record RankedNeuron(int Rank, long NeuronId, int Layer, int Index, float MuPlus, float MuMinus, float Delta, float Relative)
{
    public float AbsDelta => Math.Abs(Delta);
}

/// <summary>How many trajectories and tokens went into each class.</summary>
internal sealed record ClassCounts(int CorrectTrajectories, int IncorrectTrajectories, long CorrectTokens, long IncorrectTokens);

/// <summary>Per-neuron class statistics copied to the host (arrays of length layers * I, indexed by neuron id).</summary>
internal sealed record NeuronContrast(float[] MuPlus, float[] MuMinus, float[] Delta, float[] Relative);

/// <summary>A trajectory's activations contain NaN or infinity; it was not added to the class sums.</summary>
internal sealed class NonFiniteActivationException(string trajectoryId, int[] layers)
    : AdaRas.Files.InputException($"trajectory '{trajectoryId}': non-finite activation (NaN or infinity) in layer {layers[0]}" +
        (layers.Length > 1 ? $" (and {layers.Length - 1} more: {string.Join(", ", layers.Skip(1))})" : "") +
        "; the trajectory was not added to the class means")
{
    public string TrajectoryId { get; } = trajectoryId;
    /// <summary>Every layer with at least one non-finite value, ascending.</summary>
    public IReadOnlyList<int> Layers { get; } = layers;
}
