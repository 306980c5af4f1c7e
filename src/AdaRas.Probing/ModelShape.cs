using AdaRas.Model;

namespace AdaRas.Probing;

/// <summary>
/// The model a classifier belongs to: its identity (the manifest's <c>model_id</c>, a hash of config and weights)
/// and the shape of its MLP activation space. Neuron ids are global, as the paper numbers them:
/// <c>layer * IntermediateSize + index</c>. Classifier files record this and refuse to load for another model.
/// </summary>
public sealed record ModelShape
{
    public string ModelId { get; }
    public int LayerCount { get; }
    public int IntermediateSize { get; }

    public ModelShape(string modelId, int layerCount, int intermediateSize)
    {
        if (string.IsNullOrWhiteSpace(modelId)) throw new ArgumentException("model id must not be empty", nameof(modelId));
        if (layerCount <= 0 || intermediateSize <= 0)
            throw new ArgumentException($"layer count ({layerCount}) and intermediate size ({intermediateSize}) must be positive");
        if ((long)layerCount * intermediateSize > int.MaxValue)
            throw new ArgumentException($"{layerCount} x {intermediateSize} neurons do not fit 32-bit neuron ids");
        ModelId = modelId;
        LayerCount = layerCount;
        IntermediateSize = intermediateSize;
    }

    public static ModelShape FromManifest(ModelManifest manifest) =>
        new(manifest.ModelId, manifest.NumLayers, manifest.IntermediateSize);

    /// <summary>Number of MLP neurons over all layers (the length of a last-token activation vector).</summary>
    public int NeuronCount => LayerCount * IntermediateSize;

    public int NeuronId(int layer, int index) => layer * IntermediateSize + index;

    public (int Layer, int Index) Locate(int neuronId) => (neuronId / IntermediateSize, neuronId % IntermediateSize);

    public override string ToString() => $"'{ModelId}' ({LayerCount} layers x {IntermediateSize} neurons)";

    /// <summary>Checks that every id names a neuron of this model, that none repeats, and optionally ascending order.</summary>
    internal void ValidateNeuronIds(ReadOnlySpan<int> ids, bool requireAscending, string what)
    {
        var seen = requireAscending ? null : new HashSet<int>();
        for (int k = 0; k < ids.Length; k++)
        {
            int id = ids[k];
            if (id < 0 || id >= NeuronCount)
                throw new ArgumentException(
                    $"{what}: feature index {id} (position {k}) is outside the model {this}: ids run 0..{NeuronCount - 1}");
            if (requireAscending)
            {
                if (k > 0 && id <= ids[k - 1])
                    throw new ArgumentException(
                        $"{what}: feature ids must be strictly ascending (the graph gathers them layer by layer in order); " +
                        $"position {k} has {id} after {ids[k - 1]}");
            }
            else if (!seen!.Add(id))
                throw new ArgumentException($"{what}: feature index {id} appears more than once");
        }
    }
}
