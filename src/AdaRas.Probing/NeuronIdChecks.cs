using AdaRas.Model;

namespace AdaRas.Probing;

/// <summary>Checks on the neuron ids a probe or gate is trained on or loaded with.</summary>
static class NeuronIdChecks
{
    /// <summary>Checks that every id names a neuron of this model, that none repeats, and optionally ascending order.</summary>
    internal static void ValidateNeuronIds(this ModelShape shape, ReadOnlySpan<int> ids, bool requireAscending, string what)
    {
        var seen = requireAscending ? null : new HashSet<int>();
        for (int k = 0; k < ids.Length; k++)
        {
            int id = ids[k];
            if (id < 0 || id >= shape.NeuronCount)
                throw new ArgumentException(
                    $"{what}: feature index {id} (position {k}) is outside the model {shape}: ids run 0..{shape.NeuronCount - 1}");
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
