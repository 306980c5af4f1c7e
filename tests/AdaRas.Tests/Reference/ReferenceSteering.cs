namespace AdaRas.Tests.Reference;

/// <summary>
/// Interventions for one forward call. Per layer (by index, absent = none):
/// <see cref="Scale"/> and <see cref="Shift"/> map the MLP intermediate a = silu(gate) * up to a * scale + shift
/// (missing scale = 1, missing shift = 0; both length intermediate_size); <see cref="Residual"/> (length
/// hidden_size) is added to the residual stream right after that layer's MLP.
/// All apply at the call's positions t with t &gt;= <see cref="From"/>, Python-style: a negative value counts from
/// the end of the call, so the default -1 is the call's last position (the graph contract's default) and 0 is all.
/// </summary>
internal sealed record ReferenceSteering
{
    public int From { get; init; } = -1;
    public IReadOnlyDictionary<int, float[]> Scale { get; init; } = new Dictionary<int, float[]>();
    public IReadOnlyDictionary<int, float[]> Shift { get; init; } = new Dictionary<int, float[]>();
    public IReadOnlyDictionary<int, float[]> Residual { get; init; } = new Dictionary<int, float[]>();

    /// <summary>First steered position of a call of <paramref name="length"/> tokens.</summary>
    public int FirstSteered(int length) => From >= 0 ? Math.Min(From, length) : Math.Max(0, length + From);

    /// <summary>A shift of <paramref name="value"/> on one neuron (steering_add with alpha * delta = value).</summary>
    public static ReferenceSteering ShiftNeuron(int layer, int neuron, float value, int intermediateSize, int from = -1)
    {
        var shift = new float[intermediateSize];
        shift[neuron] = value;
        return new ReferenceSteering { From = from, Shift = new Dictionary<int, float[]> { [layer] = shift } };
    }
}
