namespace AdaRas.Export;

/// <summary>Numeric precision of the exported graph's weights, activations and KV cache.</summary>
internal enum ExportPrecision
{
    /// <summary>float32 everywhere: the CPU default.</summary>
    Fp32,
    /// <summary>float16 weights, activations and KV cache (for the CUDA provider); steering inputs, taps and logits stay float32.</summary>
    Fp16,
    /// <summary>Projections (and the embedding) as 8-bit block-quantized <c>MatMulNBits</c>; activations, norms and KV cache float32.</summary>
    Int8,
    /// <summary>Projections (and the embedding) as 4-bit block-quantized <c>MatMulNBits</c>; activations, norms and KV cache float32.</summary>
    Int4,
}

internal enum ExternalDataMode { Auto, Always, Never }

/// <summary>Element type of the KV cache.</summary>
internal enum KvCachePrecision
{
    /// <summary>The activations' type: float32, or float16 in an fp16 export.</summary>
    Model,
    /// <summary>float16 in any export: half the cache memory of fp32/int8/int4 graphs (attention runs in float16).</summary>
    Fp16,
}

internal sealed record ExportOptions
{
    public ExportPrecision Precision { get; init; } = ExportPrecision.Fp32;
    /// <summary>The KV cache's element type (fp16 halves its memory at long contexts; measured with `adaras quantization`).</summary>
    public KvCachePrecision KvCache { get; init; } = KvCachePrecision.Model;
    /// <summary>Whether the exported KV cache holds float16: asked for, or an fp16 export's own.</summary>
    public bool HalfKvCache => KvCache == KvCachePrecision.Fp16 || Precision == ExportPrecision.Fp16;
    /// <summary>False exports plain Qwen3 without steering inputs or taps, to measure what steerability costs.</summary>
    public bool Steerable { get; init; } = true;
    /// <summary>Auto puts weights in <c>model.onnx.data</c> once they approach the 2 GiB protobuf limit.</summary>
    public ExternalDataMode ExternalData { get; init; } = ExternalDataMode.Auto;
    /// <summary>Replace an existing output folder.</summary>
    public bool Overwrite { get; init; }
    /// <summary>
    /// Skips the refusal of NaN or infinite weights. Only for tests of the guards further down (activations, logits),
    /// which need such a model to exist.
    /// </summary>
    public bool AllowNonFiniteWeights { get; init; }
    /// <summary>Longest sequence the graph's rotary cache and GenAI's KV cache cover; default max_position_embeddings.</summary>
    public int? ContextLength { get; init; }

    /// <summary>Weights per scale of the int8/int4 block quantization (a power of two >= 16).</summary>
    public int BlockSize { get; init; } = 32;
    /// <summary><c>accuracy_level</c> of each quantized projection (int8/int4 only).</summary>
    public AccuracyLevels AccuracyLevels { get; init; } = AccuracyLevels.Default;

    /// <summary>Above this many weight bytes, Auto switches to external data (protobuf's hard limit is 2 GiB).</summary>
    public const long InlineLimitBytes = 1L << 30;
}

/// <summary>Progress of an export: which step, and how many weight bytes are done out of the total.</summary>
internal sealed record ExportProgress(string Step, long BytesDone, long BytesTotal);

/// <summary>
/// The <c>accuracy_level</c> ONNX Runtime's MatMulNBits computes each projection kind with: 1 = float32 compute
/// (dequantize, then float GEMM), 4 = int8 compute (the activation is quantized per block too: fast, coarser),
/// 0 = unset (the provider picks). Level 4 quantizes <c>down_proj</c>'s input (the steered activation) per block,
/// so one neuron shifted by a large <c>alpha * delta</c> coarsens the others in its block; hence per-kind levels.
/// </summary>
internal sealed record AccuracyLevels(int QkvProj, int OProj, int GateUpProj, int DownProj, int LmHead)
{
    public static readonly string[] Kinds = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj", "lm_head"];

    /// <summary>
    /// Int8 compute everywhere (ONNX Runtime GenAI's CPU default). Float32 compute on down_proj and lm_head
    /// ("4,down_proj=1,lm_head=1") keeps the steered activation exact but was measured far slower (int8 export of the
    /// Qwen3-0.6B shape: 0.04 against 2.8 tok/s on a loaded machine); its quality benefit is not measured yet.
    /// </summary>
    public static AccuracyLevels Default => All(4);

    public static AccuracyLevels All(int level) => new(level, level, level, level, level);

    public int For(string kind) => kind switch
    {
        "qkv_proj" => QkvProj,
        "o_proj" => OProj,
        "gate_up_proj" => GateUpProj,
        "down_proj" => DownProj,
        "lm_head" => LmHead,
        _ => throw new ArgumentException($"unknown projection kind '{kind}' (expected one of {string.Join(", ", Kinds)})"),
    };

    /// <summary>"4" (every kind), or "4,down_proj=1,lm_head=1" (a base level, then per-kind overrides).</summary>
    public static AccuracyLevels Parse(string spec)
    {
        var levels = new Dictionary<string, int>();
        int? all = null;
        foreach (var part in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            int level = kv.Length == 2 ? ParseLevel(kv[1], spec) : ParseLevel(kv[0], spec);
            if (kv.Length == 1) { all = level; continue; }
            if (!Kinds.Contains(kv[0]))
                throw new UsageException($"--accuracy-level '{spec}': unknown projection '{kv[0]}' (expected one of {string.Join(", ", Kinds)})");
            levels[kv[0]] = level;
        }
        var d = all is int a ? All(a) : Default;
        int Get(string kind) => levels.TryGetValue(kind, out var l) ? l : d.For(kind);
        return new(Get("qkv_proj"), Get("o_proj"), Get("gate_up_proj"), Get("down_proj"), Get("lm_head"));
    }

    static int ParseLevel(string text, string spec) =>
        int.TryParse(text, out int l) && l is >= 0 and <= 4
            ? l : throw new UsageException($"--accuracy-level '{spec}': '{text}' is not a level 0-4");

    public override string ToString() => string.Join(",", Kinds.Select(k => $"{k}={For(k)}"));
}
