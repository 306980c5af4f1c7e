using AdaRas.Model;
using W = AdaRas.Model.Qwen3Weights;

namespace AdaRas.Tests.Reference;

/// <summary>
/// A plain managed Qwen3 (HF Qwen3ForCausalLM) for tests: the oracle that exported graphs are compared with.
/// It shares no code with the exporter; weights are read as float32 and all arithmetic is done in double.
/// </summary>
internal sealed class ReferenceModel
{
    /// <summary>One decoder layer's weights, Linear weights [out, in] row-major.</summary>
    internal sealed record Layer(
        float[] InputNorm, float[] Q, float[] K, float[] V, float[] O, float[] QNorm, float[] KNorm,
        float[] PostAttentionNorm, float[] Gate, float[] Up, float[] Down);

    public Qwen3Config Config { get; }
    internal float[] Embedding { get; }
    internal float[] FinalNorm { get; }
    /// <summary>The output projection [vocab, hidden]: lm_head, or the embedding itself when tied.</summary>
    internal float[] LmHead { get; }
    internal Layer[] Layers { get; }

    ReferenceModel(Qwen3Config config, float[] embedding, float[] finalNorm, float[] lmHead, Layer[] layers)
    {
        Config = config; Embedding = embedding; FinalNorm = finalNorm; LmHead = lmHead; Layers = layers;
    }

    public static ReferenceModel Load(Checkpoint checkpoint) => FromTensors(checkpoint.Config, checkpoint.ReadFloat32);

    /// <summary>
    /// Builds the model from any source of float32 tensors by HF name (tests use it to edit weights in memory).
    /// Every tensor's length is checked against the shape the config implies.
    /// </summary>
    public static ReferenceModel FromTensors(Qwen3Config config, Func<string, float[]> read)
    {
        var shapes = W.Expected(config).ToDictionary(t => t.Name, t => t.Shape);
        float[] Get(string name)
        {
            var values = read(name);
            long expected = shapes[name].Aggregate(1L, (a, b) => a * b);
            if (values.LongLength != expected)
                throw new ArgumentException($"tensor '{name}' has {values.LongLength} values, the config implies {expected}");
            return values;
        }
        var layers = new Layer[config.NumHiddenLayers];
        for (int l = 0; l < layers.Length; l++)
            layers[l] = new Layer(
                Get(W.Layer(l, W.InputNorm)), Get(W.Layer(l, W.QProj)), Get(W.Layer(l, W.KProj)), Get(W.Layer(l, W.VProj)),
                Get(W.Layer(l, W.OProj)), Get(W.Layer(l, W.QNorm)), Get(W.Layer(l, W.KNorm)),
                Get(W.Layer(l, W.PostAttentionNorm)), Get(W.Layer(l, W.GateProj)), Get(W.Layer(l, W.UpProj)),
                Get(W.Layer(l, W.DownProj)));
        var embedding = Get(W.Embedding);
        var lmHead = config.TieWordEmbeddings ? embedding : Get(W.LmHead);
        return new ReferenceModel(config, embedding, Get(W.FinalNorm), lmHead, layers);
    }

    public ReferenceSession NewSession() => new(this);

    /// <summary>A copy of layer <paramref name="layer"/>'s down_proj weight, [hidden, intermediate] row-major.</summary>
    public float[] DownProj(int layer) => (float[])Layers[layer].Down.Clone();
}
