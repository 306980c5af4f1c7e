using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;

namespace AdaRas.Evaluation.Demo;

/// <summary>
/// Patterns derived from an identified one, for controls and for broken-pipeline checks: the same steering
/// method and strength applied somewhere else. Each is written as an ordinary pattern file (our dialect, with a
/// sidecar), so it goes through exactly the code path the real pattern does.
/// </summary>
internal static class ControlPatterns
{
    /// <summary>
    /// K neurons drawn at random (seeded) from the layers of the pattern's top K, excluding those K, each with its
    /// own statistics (so its own delta). Needs a pattern that ranks every neuron of those layers.
    /// </summary>
    public static string Random(RcnPattern pattern, int k, int seed, string path)
    {
        var top = pattern.Top(k);
        var layers = top.Select(n => n.Layer).ToHashSet();
        var excluded = top.Select(n => n.NeuronId).ToHashSet();
        var pool = pattern.Neurons.Where(n => layers.Contains(n.Layer) && !excluded.Contains(n.NeuronId)).OrderBy(n => n.NeuronId).ToList();
        int expected = layers.Count * pattern.Shape.IntermediateSize - k;
        if (pool.Count != expected)
            throw new ArgumentException($"{pattern.SourcePath}: ranks {pool.Count + k} neurons of layers {string.Join(",", layers.Order())}, " +
                                        $"but a random control draws from all {expected + k}; identify the pattern with every neuron kept");
        var rng = new System.Random(seed);
        var drawn = pool.OrderBy(_ => rng.Next()).Take(k).ToList();
        return Write(pattern, drawn.Select(n => (n, n.Layer, n.Index)).ToList(), path, $"random-{seed}");
    }

    /// <summary>
    /// The top K with every neuron index moved by <paramref name="offset"/> (wrapping within the layer); where two
    /// would land on one place, the later moves on by the offset again.
    /// </summary>
    public static string Shifted(RcnPattern pattern, int k, int offset, string path)
    {
        if (offset == 0) throw new ArgumentOutOfRangeException(nameof(offset), "a shift of 0 is the pattern itself");
        int size = pattern.Shape.IntermediateSize;
        var taken = new HashSet<(int, int)>();
        var rows = new List<(PatternNeuron, int, int)>();
        foreach (var n in pattern.Top(k))
        {
            int index = n.Index;
            do index = ((index + offset) % size + size) % size; while (!taken.Add((n.Layer, index)));
            rows.Add((n, n.Layer, index));
        }
        return Write(pattern, rows, path, $"shifted{offset:+0;-0}");
    }

    /// <summary>The top K with layers permuted (layer l becomes l + 1, the last wraps to 0).</summary>
    public static string LayersRotated(RcnPattern pattern, int k, string path)
    {
        int layers = pattern.Shape.Layers;
        return Write(pattern, pattern.Top(k).Select(n => (n, (n.Layer + 1) % layers, n.Index)).ToList(), path, "layers-rotated");
    }

    static string Write(RcnPattern source, IReadOnlyList<(PatternNeuron Stats, int Layer, int Index)> rows, string path, string what)
    {
        var ranked = rows.Select((r, i) => new RankedNeuron(i + 1, (long)r.Layer * source.Shape.IntermediateSize + r.Index, r.Layer, r.Index,
            r.Stats.MuPlus ?? 0, r.Stats.MuMinus ?? 0, r.Stats.Delta, r.Stats.Relative ?? 0)).ToList();
        if (ranked.Select(n => n.NeuronId).Distinct().Count() != ranked.Count)
            throw new ArgumentException($"{what}: two neurons of {source.SourcePath} land on the same place");
        var sidecar = source.Sidecar ?? throw new ArgumentException($"{source.SourcePath}: has no sidecar; controls are derived from our own patterns");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        RcnPattern.Write(path, ranked, sidecar with { Top = ranked.Count, DatasetName = $"{sidecar.DatasetName} ({what} control)" }, overwrite: true);
        return path;
    }
}
