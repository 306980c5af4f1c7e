using AdaRas.Model;

namespace AdaRas.Steering;

/// <summary>
/// What a steering pattern must agree with: the model's layer count and MLP intermediate size (neuron id =
/// layer * I + index), and, where known, its identity (<see cref="ModelManifest.ModelId"/>).
/// </summary>
public sealed record ModelShape(int Layers, int IntermediateSize, string? ModelId = null)
{
    public static readonly ModelShape Qwen3_0_6B = new(28, 3072);
    public static readonly ModelShape Qwen3_1_7B = new(28, 6144);
    public static readonly ModelShape Qwen3_4B = new(36, 9728);

    public long NeuronCount => (long)Layers * IntermediateSize;

    public static ModelShape FromManifest(ModelManifest manifest) =>
        new(manifest.NumLayers, manifest.IntermediateSize, manifest.ModelId);

    public static ModelShape FromConfig(Qwen3Config config, string? modelId = null) =>
        new(config.NumHiddenLayers, config.IntermediateSize, modelId);

    public override string ToString() =>
        $"{Layers} layers x {IntermediateSize} neurons" + (ModelId is null ? "" : $" (model {ModelId})");
}
