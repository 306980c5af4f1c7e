using System.Text.Json;
using System.Text.Json.Serialization;

namespace AdaRas.Model;

/// <summary>Name, element type and shape of one graph input or output. Symbolic dims are strings, fixed dims numbers.</summary>
public sealed record TensorSpec(string Name, [property: JsonPropertyName("dtype")] string DType, object[] Shape, string Description);

/// <summary>
/// <c>manifest.json</c> of an exported model folder: what the graph is and the names of its steering inputs and
/// activation taps. Written by the exporter, read (and checked against the graph) by the engine.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>The manifest's file name in an exported folder.</summary>
    public const string FileName = "manifest.json";
    internal const string CurrentFormat = "adaras-qwen3-onnx";
    internal const int CurrentVersion = 1;

    /// <summary>Format tag, <c>adaras-qwen3-onnx</c>; the engine refuses any other.</summary>
    public string Format { get; init; } = CurrentFormat;
    /// <summary>Version of the manifest format (1).</summary>
    public int FormatVersion { get; init; } = CurrentVersion;
    /// <summary>Stable identity of the source weights (hash of config and tensor bytes); patterns and gates record it.</summary>
    public required string ModelId { get; init; }
    /// <summary>Weight precision of the graph: <c>fp32</c>, <c>fp16</c>, <c>int8</c> or <c>int4</c>.</summary>
    public required string Precision { get; init; }
    /// <summary>
    /// Element type of the KV cache, <c>fp32</c> or <c>fp16</c>. Null in manifests written before it existed: the
    /// cache then follows the activations (fp16 in an fp16 export, fp32 otherwise).
    /// </summary>
    [JsonPropertyName("kv_cache")]
    public string? KvCache { get; init; }
    /// <summary>Whether the KV cache holds float16 (see <see cref="KvCache"/>).</summary>
    [JsonIgnore]
    public bool HalfKvCache => (KvCache ?? (Precision == "fp16" ? "fp16" : "fp32")) == "fp16";
    /// <summary>Whether the graph has the steering inputs and taps (false for <c>export --plain</c>).</summary>
    public required bool Steerable { get; init; }
    /// <summary>The ONNX file in the folder (<c>model.onnx</c>).</summary>
    public required string GraphFile { get; init; }
    /// <summary>The external weights file beside the graph, when weights pass 1 GiB.</summary>
    public string? ExternalDataFile { get; init; }
    /// <summary>Element type of the checkpoint the graph was exported from (bf16, fp16, fp32).</summary>
    [JsonPropertyName("source_dtype")]
    public required string SourceDType { get; init; }

    /// <summary>Decoder layers.</summary>
    public required int NumLayers { get; init; }
    /// <summary>Residual stream width.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>MLP intermediate width I: the neurons per layer that steering and the taps address.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Query heads.</summary>
    public required int NumAttentionHeads { get; init; }
    /// <summary>Key/value heads (grouped-query attention).</summary>
    public required int NumKeyValueHeads { get; init; }
    /// <summary>Width of one attention head.</summary>
    public required int HeadDim { get; init; }
    /// <summary>Rows of the embedding and of the logits.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Rotary embedding base.</summary>
    public required double RopeTheta { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required double RmsNormEps { get; init; }
    /// <summary>The most tokens (prompt and generated) one sequence may hold.</summary>
    public required int ContextLength { get; init; }
    /// <summary>Whether <c>lm_head</c> shares the embedding matrix.</summary>
    public required bool TieWordEmbeddings { get; init; }

    /// <summary>The graph's inputs, as the exporter wrote them.</summary>
    public required TensorSpec[] Inputs { get; init; }
    /// <summary>The graph's outputs, as the exporter wrote them.</summary>
    public required TensorSpec[] Outputs { get; init; }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The longest context any export writes (the exporter refuses more).</summary>
    public const int MaxContextLength = 1 << 20;

    /// <summary>Reads and checks a manifest file.</summary>
    /// <exception cref="ModelFormatException">The file is missing, does not parse, or holds values out of range.</exception>
    public static ModelManifest Load(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "file not found");
        InputFiles.RequireRegularFile(path, FileName);
        ModelManifest? m;
        try { m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new ModelFormatException(path, $"cannot parse: {e.Message}", inner: e); }
        if (m is null) throw new ModelFormatException(path, "empty manifest");
        if (m.Format != CurrentFormat || m.FormatVersion != CurrentVersion)
            throw new ModelFormatException(path, $"format '{m.Format}' v{m.FormatVersion} is not '{CurrentFormat}' v{CurrentVersion}");
        if (m.NumLayers <= 0 || m.IntermediateSize <= 0 || m.HiddenSize <= 0 || m.VocabSize <= 0)
            throw new ModelFormatException(path, "layer count and sizes must be positive");
        if (m.ContextLength is <= 0 or > MaxContextLength || m.HeadDim <= 0 || m.NumKeyValueHeads <= 0 || m.NumAttentionHeads <= 0)
            throw new ModelFormatException(path, $"context_length must be in [1, {MaxContextLength}] and head counts and head_dim positive");
        return m;
    }

    internal void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));

    /// <summary>
    /// Weight bytes one decode step reads: every layer's projections and norms, the final norm and the lm_head (the
    /// embedding row is negligible). A memory-bound decoder cannot beat bandwidth / this.
    /// </summary>
    [JsonIgnore]
    public long WeightBytesPerToken
    {
        get
        {
            long h = HiddenSize, i = IntermediateSize, q = (long)NumAttentionHeads * HeadDim, kv = (long)NumKeyValueHeads * HeadDim;
            long perLayer = h * (q + 2 * kv) + q * h + 3 * h * i + 2 * h + 2 * HeadDim;
            long elements = NumLayers * perLayer + h + h * VocabSize;
            // int8/int4 exports: 1 or 0.5 bytes per weight plus a float32 scale per block of 32 (norms are negligible).
            return Precision switch
            {
                "fp16" => elements * 2,
                "int8" => elements + elements / 8,
                "int4" => elements / 2 + elements / 8,
                _ => elements * 4,
            };
        }
    }

    /// <summary>Neuron id as the paper numbers it: layer * intermediate_size + index.</summary>
    public long NeuronId(int layer, int index) => (long)layer * IntermediateSize + index;
}

/// <summary>
/// The graph contract: names of the standard decoder I/O (as ONNX Runtime GenAI expects them) and of the
/// steering inputs and taps. Everything that talks to an exported graph uses these, never string literals.
/// </summary>
public static class GraphNames
{
    /// <summary>Token ids, int64 [batch, seq].</summary>
    public const string InputIds = "input_ids";
    /// <summary>1 for every position of the sequence so far, int64 [batch, past + seq].</summary>
    public const string AttentionMask = "attention_mask";
    /// <summary>Next-token logits from <see cref="LogitsFrom"/> on.</summary>
    public const string Logits = "logits";
    /// <summary>Layer <paramref name="layer"/>'s key cache input (shares its buffer with <see cref="PresentKey"/>).</summary>
    public static string PastKey(int layer) => $"past_key_values.{layer}.key";
    /// <summary>Layer <paramref name="layer"/>'s value cache input.</summary>
    public static string PastValue(int layer) => $"past_key_values.{layer}.value";
    /// <summary>Layer <paramref name="layer"/>'s key cache output.</summary>
    public static string PresentKey(int layer) => $"present.{layer}.key";
    /// <summary>Layer <paramref name="layer"/>'s value cache output.</summary>
    public static string PresentValue(int layer) => $"present.{layer}.value";

    /// <summary>Per-layer multiplier on the MLP intermediate, float32 [steer_batch, 1, I]; identity default 1.</summary>
    public static string SteeringScale(int layer) => $"steering.{layer}.scale";
    /// <summary>Per-layer offset on the MLP intermediate, float32 [steer_batch, 1, I]; identity default 0.</summary>
    public static string SteeringShift(int layer) => $"steering.{layer}.shift";
    /// <summary>
    /// int64 [1]: first steered position of the call, Python-style (negative counts from the end).
    /// Default -1 steers the last position only; 0 steers every position.
    /// </summary>
    public const string SteeringFrom = "steering_from";
    /// <summary>
    /// int64 [1]: first position whose logits are computed, Python-style. Default 0 (all positions, as GenAI
    /// expects); -1 computes only the last; a value past the end computes none (teacher forcing for taps).
    /// </summary>
    public const string LogitsFrom = "logits_from";
    /// <summary>Per-layer int64 [n_l] local neuron indices to gather per token; default empty.</summary>
    public static string FeatureIndices(int layer) => $"features.{layer}.indices";

    /// <summary>
    /// bool [1]: compute the taps (mlp.last, mlp.sum, mlp.features) in this call; default true. False skips them
    /// inside the graph and they come back empty, so a call that reads no taps costs what a plain export's does.
    /// </summary>
    public const string TapsEnabled = "taps_enabled";
    /// <summary>The three tap outputs, in graph order: <see cref="TapLast"/>, <see cref="TapSum"/>, <see cref="TapFeatures"/>.</summary>
    public static IReadOnlyList<string> TapOutputs { get; } = [TapLast, TapSum, TapFeatures];
    /// <summary>float32 [batch, layers, I]: pre-steering MLP intermediate at the call's last position.</summary>
    public const string TapLast = "mlp.last";
    /// <summary>float32 [batch, layers, I]: pre-steering MLP intermediate summed over the call's positions.</summary>
    public const string TapSum = "mlp.sum";
    /// <summary>float32 [batch, seq, n]: pre-steering activations at the feature indices, layers in order.</summary>
    public const string TapFeatures = "mlp.features";
}
