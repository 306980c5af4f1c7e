namespace AdaRas.Model;

/// <summary>
/// The MLP activation space of a model, which patterns, probes and gates must agree with: layer count and
/// intermediate size (neuron id = layer * I + index, as the paper numbers them) and, where known, the model's
/// identity (<see cref="ModelManifest.ModelId"/>).
/// </summary>
internal sealed record ModelShape
{
    public int Layers { get; }
    public int IntermediateSize { get; }
    public string? ModelId { get; init; }

    public ModelShape(int layers, int intermediateSize, string? modelId = null)
    {
        if (layers <= 0 || intermediateSize <= 0)
            throw new ArgumentException($"layer count ({layers}) and intermediate size ({intermediateSize}) must be positive");
        if ((long)layers * intermediateSize > int.MaxValue)
            throw new ArgumentException($"{layers} x {intermediateSize} neurons do not fit 32-bit neuron ids");
        Layers = layers;
        IntermediateSize = intermediateSize;
        ModelId = modelId;
    }

    public static readonly ModelShape Qwen3_0_6B = new(28, 3072);
    public static readonly ModelShape Qwen3_1_7B = new(28, 6144);
    public static readonly ModelShape Qwen3_4B = new(36, 9728);

    /// <summary>Number of MLP neurons over all layers (the length of a full activation vector).</summary>
    public int NeuronCount => Layers * IntermediateSize;

    public int NeuronId(int layer, int index) => layer * IntermediateSize + index;

    public (int Layer, int Index) Locate(int neuronId) => (neuronId / IntermediateSize, neuronId % IntermediateSize);

    public static ModelShape FromManifest(ModelManifest manifest) =>
        new(manifest.NumLayers, manifest.IntermediateSize, manifest.ModelId);

    public static ModelShape FromConfig(Qwen3Config config, string? modelId = null) =>
        new(config.NumHiddenLayers, config.IntermediateSize, modelId);

    public override string ToString() =>
        $"{Layers} layers x {IntermediateSize} neurons" + (ModelId is null ? "" : $" (model {ModelId})");
}
