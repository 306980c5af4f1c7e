namespace AdaRas.Model;

/// <summary>The Hugging Face tensor names and shapes of a Qwen3ForCausalLM checkpoint.</summary>
internal static class Qwen3Weights
{
    public const string Embedding = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";

    public static string Layer(int layer, string part) => $"model.layers.{layer}.{part}";

    public const string InputNorm = "input_layernorm.weight";
    public const string PostAttentionNorm = "post_attention_layernorm.weight";
    public const string QProj = "self_attn.q_proj.weight";
    public const string KProj = "self_attn.k_proj.weight";
    public const string VProj = "self_attn.v_proj.weight";
    public const string OProj = "self_attn.o_proj.weight";
    public const string QNorm = "self_attn.q_norm.weight";
    public const string KNorm = "self_attn.k_norm.weight";
    public const string GateProj = "mlp.gate_proj.weight";
    public const string UpProj = "mlp.up_proj.weight";
    public const string DownProj = "mlp.down_proj.weight";

    /// <summary>Every tensor the config implies, with its shape (Linear weights are [out, in]).</summary>
    public static IEnumerable<(string Name, long[] Shape)> Expected(Qwen3Config c)
    {
        long h = c.HiddenSize, i = c.IntermediateSize, d = c.HeadDim;
        yield return (Embedding, [c.VocabSize, h]);
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            yield return (Layer(l, InputNorm), [h]);
            yield return (Layer(l, PostAttentionNorm), [h]);
            yield return (Layer(l, QProj), [c.NumAttentionHeads * d, h]);
            yield return (Layer(l, KProj), [c.NumKeyValueHeads * d, h]);
            yield return (Layer(l, VProj), [c.NumKeyValueHeads * d, h]);
            yield return (Layer(l, OProj), [h, c.NumAttentionHeads * d]);
            yield return (Layer(l, QNorm), [d]);
            yield return (Layer(l, KNorm), [d]);
            yield return (Layer(l, GateProj), [i, h]);
            yield return (Layer(l, UpProj), [i, h]);
            yield return (Layer(l, DownProj), [h, i]);
        }
        yield return (FinalNorm, [h]);
        if (!c.TieWordEmbeddings) yield return (LmHead, [c.VocabSize, h]);
    }
}
