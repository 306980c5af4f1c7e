using AdaRas.Model;

namespace AdaRas.Model.Synthetic;

/// <summary>The dimensions of a Qwen3 network, enough to write a checkpoint of that shape.</summary>
internal sealed record CheckpointShape(
    string Name, int VocabSize, int Hidden, int Intermediate, int Layers, int Heads, int KvHeads, int HeadDim,
    bool Tied, int MaxPositions, double RopeTheta = 1e6, double RmsEps = 1e-6)
{
    /// <summary>The dtype <see cref="RandomCheckpoint.Write"/> uses when none is given.</summary>
    public TensorDType DefaultDType { get; init; } = TensorDType.F32;

    /// <summary>The config this shape implies (eos ids are the tiny tokenizer's).</summary>
    public Qwen3Config ToConfig(TensorDType dtype) => new()
    {
        VocabSize = VocabSize,
        HiddenSize = Hidden,
        IntermediateSize = Intermediate,
        NumHiddenLayers = Layers,
        NumAttentionHeads = Heads,
        NumKeyValueHeads = KvHeads,
        HeadDim = HeadDim,
        RopeTheta = RopeTheta,
        RmsNormEps = RmsEps,
        MaxPositionEmbeddings = MaxPositions,
        TieWordEmbeddings = Tied,
        TorchDtype = dtype switch
        {
            TensorDType.F32 => "float32",
            TensorDType.BF16 => "bfloat16",
            TensorDType.F16 => "float16",
            _ => throw new ArgumentException($"{dtype} is not a weight dtype (F32, BF16 or F16)"),
        },
        BosTokenId = TinyTokenizer.IdOf(TinyTokenizer.EndOfText),
        EosTokenIds = [TinyTokenizer.IdOf(TinyTokenizer.ImEnd)],
    };

    /// <summary>Parameter count (the tied embedding counted once).</summary>
    public long ParameterCount => Qwen3Weights.Expected(ToConfig(TensorDType.F32))
        .Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
}

/// <summary>
/// Named shapes. Head sizes are multiples of 16, which ONNX Runtime's GroupQueryAttention requires. The tiny ones are built to catch the usual mistakes: head_dim that is not hidden/heads,
/// several query heads per KV head (2, 3) and one KV head for all, tied and untied output heads, a
/// rope_theta and rms_norm_eps other than the defaults, and a vocabulary with ids that have no token.
/// </summary>
internal static class CheckpointShapes
{
    /// <summary>The tiny tokenizer's size rounded up to a multiple of 16 (the last ids have no token).</summary>
    public static int TinyVocab => (TinyTokenizer.TokenCount + 15) / 16 * 16;

    /// <summary>Tied; 4 query heads over 2 KV heads; head_dim 16 while hidden/heads = 12; rope_theta 1e4.</summary>
    public static CheckpointShape Tiny => new("tiny", TinyVocab, Hidden: 48, Intermediate: 96, Layers: 2,
        Heads: 4, KvHeads: 2, HeadDim: 16, Tied: true, MaxPositions: 256, RopeTheta: 10_000, RmsEps: 1e-6);

    /// <summary>Untied lm_head; 6 query heads over 2 KV heads (3 per group); head_dim 16 while hidden/heads = 6.67; eps 1e-5.</summary>
    public static CheckpointShape TinyUntied => new("tiny-untied", TinyVocab, Hidden: 40, Intermediate: 80, Layers: 3,
        Heads: 6, KvHeads: 2, HeadDim: 16, Tied: false, MaxPositions: 256, RopeTheta: 1e6, RmsEps: 1e-5);

    /// <summary>Multi-query attention: 4 query heads share 1 KV head; head_dim 16 = hidden/heads (the common case).</summary>
    public static CheckpointShape TinyMqa => new("tiny-mqa", TinyVocab, Hidden: 64, Intermediate: 64, Layers: 2,
        Heads: 4, KvHeads: 1, HeadDim: 16, Tied: true, MaxPositions: 256, RopeTheta: 10_000, RmsEps: 1e-6);

    /// <summary>Qwen3-0.6B's real shapes (about 596M parameters).</summary>
    public static CheckpointShape Qwen3_0_6B => new("qwen3-0.6b", 151936, Hidden: 1024, Intermediate: 3072, Layers: 28,
        Heads: 16, KvHeads: 8, HeadDim: 128, Tied: true, MaxPositions: 40960, RopeTheta: 1e6, RmsEps: 1e-6);

    /// <summary>Qwen3-1.7B's real shapes (about 1.7B parameters; bf16 by default, 4 GB on disk).</summary>
    public static CheckpointShape Qwen3_1_7B => new("qwen3-1.7b", 151936, Hidden: 2048, Intermediate: 6144, Layers: 28,
        Heads: 16, KvHeads: 8, HeadDim: 128, Tied: true, MaxPositions: 40960, RopeTheta: 1e6, RmsEps: 1e-6)
    { DefaultDType = TensorDType.BF16 };

    public static IReadOnlyList<CheckpointShape> All => [Tiny, TinyUntied, TinyMqa, Qwen3_0_6B, Qwen3_1_7B];

    /// <summary>Looks a shape up by name (case-insensitive; "qwen3-0.6b", "Qwen3_0_6B" and "0.6b" all work).</summary>
    public static CheckpointShape Get(string name)
    {
        static string Key(string s) => new string(s.ToLowerInvariant().Where(char.IsLetterOrDigit).ToArray()).Replace("qwen3", "");
        var key = Key(name);
        return All.FirstOrDefault(s => Key(s.Name) == key)
            ?? throw new UsageException($"unknown checkpoint shape '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");
    }
}
