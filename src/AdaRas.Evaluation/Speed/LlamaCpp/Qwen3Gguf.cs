using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Steering.ControlVectors;

namespace AdaRas.Evaluation.Speed.LlamaCpp;

/// <summary>
/// Writes a Hugging Face Qwen3 checkpoint as a GGUF file llama.cpp loads (architecture <c>qwen3</c>), the way
/// llama.cpp's convert_hf_to_gguf.py does: its tensor names (<c>token_embd</c>, <c>blk.N.attn_q</c>, …,
/// <c>output</c> only when untied), matrices F32 or F16 and norms always F32, ggml dimension order (HF [out, in]
/// becomes ne = [in, out] with the same bytes), the <c>qwen3.*</c> hyperparameters, and the byte-level BPE
/// tokenizer as <c>tokenizer.ggml.model = gpt2</c>, <c>pre = qwen2</c> with vocabulary, token types and merges.
/// </summary>
static class Qwen3Gguf
{
    /// <summary>llama_ftype values written to general.file_type.</summary>
    const uint FileTypeF32 = 0, FileTypeF16 = 1;
    /// <summary>llama_token_type: normal, control (special added tokens), user-defined (other added tokens), unused (padding).</summary>
    const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    public static void Write(string checkpointFolder, string path, bool f16 = false)
    {
        using var checkpoint = Checkpoint.Open(checkpointFolder);
        var c = checkpoint.Config;
        var w = new GgufWriter();
        w.AddString("general.architecture", "qwen3");
        w.AddString("general.name", Path.GetFileName(Path.GetFullPath(checkpointFolder)));
        w.AddUInt32("general.file_type", f16 ? FileTypeF16 : FileTypeF32);
        w.AddUInt32("qwen3.block_count", (uint)c.NumHiddenLayers);
        w.AddUInt32("qwen3.context_length", (uint)c.MaxPositionEmbeddings);
        w.AddUInt32("qwen3.embedding_length", (uint)c.HiddenSize);
        w.AddUInt32("qwen3.feed_forward_length", (uint)c.IntermediateSize);
        w.AddUInt32("qwen3.attention.head_count", (uint)c.NumAttentionHeads);
        w.AddUInt32("qwen3.attention.head_count_kv", (uint)c.NumKeyValueHeads);
        w.AddUInt32("qwen3.attention.key_length", (uint)c.HeadDim);
        w.AddUInt32("qwen3.attention.value_length", (uint)c.HeadDim);
        w.AddFloat32("qwen3.rope.freq_base", (float)c.RopeTheta);
        w.AddFloat32("qwen3.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        AddTokenizer(w, checkpoint, c);

        uint matrix = f16 ? GgufWriter.GgmlTypeF16 : GgufWriter.GgmlTypeF32;
        void Tensor(string ggufName, string hfName)
        {
            var shape = checkpoint.Info(hfName).Shape;
            w.AddTensor(ggufName, shape.Length == 1 ? GgufWriter.GgmlTypeF32 : matrix, () => checkpoint.ReadFloat32(hfName),
                [.. shape.Reverse()]);
        }
        Tensor("token_embd.weight", Qwen3Weights.Embedding);
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string b = $"blk.{l}.";
            Tensor(b + "attn_norm.weight", Qwen3Weights.Layer(l, Qwen3Weights.InputNorm));
            Tensor(b + "attn_q.weight", Qwen3Weights.Layer(l, Qwen3Weights.QProj));
            Tensor(b + "attn_k.weight", Qwen3Weights.Layer(l, Qwen3Weights.KProj));
            Tensor(b + "attn_v.weight", Qwen3Weights.Layer(l, Qwen3Weights.VProj));
            Tensor(b + "attn_output.weight", Qwen3Weights.Layer(l, Qwen3Weights.OProj));
            Tensor(b + "attn_q_norm.weight", Qwen3Weights.Layer(l, Qwen3Weights.QNorm));
            Tensor(b + "attn_k_norm.weight", Qwen3Weights.Layer(l, Qwen3Weights.KNorm));
            Tensor(b + "ffn_norm.weight", Qwen3Weights.Layer(l, Qwen3Weights.PostAttentionNorm));
            Tensor(b + "ffn_gate.weight", Qwen3Weights.Layer(l, Qwen3Weights.GateProj));
            Tensor(b + "ffn_up.weight", Qwen3Weights.Layer(l, Qwen3Weights.UpProj));
            Tensor(b + "ffn_down.weight", Qwen3Weights.Layer(l, Qwen3Weights.DownProj));
        }
        Tensor("output_norm.weight", Qwen3Weights.FinalNorm);
        if (!c.TieWordEmbeddings) Tensor("output.weight", Qwen3Weights.LmHead);
        w.Write(path);
    }

    static void AddTokenizer(GgufWriter w, Checkpoint checkpoint, Qwen3Config c)
    {
        string file = checkpoint.PathOf(Checkpoint.TokenizerFile);
        var json = JsonNode.Parse(File.ReadAllText(file)) ?? throw new ModelFormatException(file, "empty tokenizer");
        var model = json["model"] ?? throw new ModelFormatException(file, "no \"model\"");
        var tokens = new string?[c.VocabSize];
        var types = new int[c.VocabSize];
        foreach (var (token, id) in model["vocab"]!.AsObject())
        {
            int i = id!.GetValue<int>();
            if (i < 0 || i >= c.VocabSize) throw new ModelFormatException(file, $"token id {i} is outside the model's vocabulary of {c.VocabSize}");
            tokens[i] = token;
            types[i] = Normal;
        }
        foreach (var added in json["added_tokens"]?.AsArray() ?? [])
        {
            int i = added!["id"]!.GetValue<int>();
            if (i < 0 || i >= c.VocabSize) throw new ModelFormatException(file, $"added token id {i} is outside the model's vocabulary of {c.VocabSize}");
            tokens[i] = added["content"]!.GetValue<string>();
            types[i] = added["special"]?.GetValue<bool>() == true ? Control : UserDefined;
        }
        for (int i = 0; i < tokens.Length; i++)
            if (tokens[i] is null) { tokens[i] = $"[PAD{i}]"; types[i] = Unused; } // the embedding has rows past the tokenizer
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair
            ? $"{pair[0]!.GetValue<string>()} {pair[1]!.GetValue<string>()}" : m!.GetValue<string>()).ToList();

        w.AddString("tokenizer.ggml.model", "gpt2");
        w.AddString("tokenizer.ggml.pre", "qwen2");
        w.AddStringArray("tokenizer.ggml.tokens", tokens!);
        w.AddInt32Array("tokenizer.ggml.token_type", types);
        w.AddStringArray("tokenizer.ggml.merges", merges);
        var gen = checkpoint.Generation;
        int[] eos = gen?.EosTokenIds.Length > 0 ? gen.EosTokenIds : c.EosTokenIds;
        if (eos.Length > 0) w.AddUInt32("tokenizer.ggml.eos_token_id", (uint)eos[0]);
        int? bos = gen?.BosTokenId ?? c.BosTokenId;
        if (bos is int b) w.AddUInt32("tokenizer.ggml.bos_token_id", (uint)b);
        if (gen?.PadTokenId is int pad) w.AddUInt32("tokenizer.ggml.padding_token_id", (uint)pad);
        w.AddBool("tokenizer.ggml.add_bos_token", false);
    }
}
