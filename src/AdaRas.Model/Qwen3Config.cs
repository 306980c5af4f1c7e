using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Model;

/// <summary>
/// The fields of a Hugging Face Qwen3 <c>config.json</c> that define the network. Defaults follow
/// transformers' Qwen3Config where the file may omit a field.
/// </summary>
public sealed record Qwen3Config
{
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    /// <summary>Per-head width. In Qwen3 this is its own field and is not hidden/heads (0.6B: 128 vs 1024/16).</summary>
    public required int HeadDim { get; init; }
    public double RopeTheta { get; init; } = 1_000_000;
    public double RmsNormEps { get; init; } = 1e-6;
    public int MaxPositionEmbeddings { get; init; } = 40960;
    public bool TieWordEmbeddings { get; init; }
    public string TorchDtype { get; init; } = "float32";
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];

    public const string ModelType = "qwen3";

    public static Qwen3Config Load(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "file not found");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new ModelFormatException(path, $"not valid JSON: {e.Message}", inner: e); }
        if (root is not JsonObject obj) throw new ModelFormatException(path, "not a JSON object");
        return Parse(obj, path);
    }

    public static Qwen3Config Parse(JsonObject o, string path)
    {
        string modelType = o["model_type"]?.GetValue<string>() ?? "(missing)";
        if (modelType != ModelType)
            throw new ModelFormatException(path, $"unsupported model_type '{modelType}' (this engine runs '{ModelType}')");

        int Int(string key, int? fallback = null)
        {
            var node = o[key];
            if (node is null)
                return fallback ?? throw new ModelFormatException(path, $"missing required field '{key}'");
            try { return node.GetValue<int>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw new ModelFormatException(path, $"field '{key}' must be an integer, got {node.ToJsonString()}", inner: e); }
        }
        double Dbl(string key, double fallback)
        {
            var node = o[key];
            if (node is null) return fallback;
            try { return node.GetValue<double>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw new ModelFormatException(path, $"field '{key}' must be a number, got {node.ToJsonString()}", inner: e); }
        }

        if (o["attention_bias"] is JsonNode ab && ab.GetValue<bool>())
            throw new ModelFormatException(path, "attention_bias=true is not supported (Qwen3 checkpoints use false)");
        if (o["rope_scaling"] is JsonObject rs && rs["rope_type"]?.GetValue<string>() is string rt && rt != "default")
            throw new ModelFormatException(path, $"rope_scaling type '{rt}' is not supported");
        if (o["hidden_act"]?.GetValue<string>() is string act && act != "silu")
            throw new ModelFormatException(path, $"hidden_act '{act}' is not supported (Qwen3 uses silu)");

        int heads = Int("num_attention_heads");
        int hidden = Int("hidden_size");
        var config = new Qwen3Config
        {
            VocabSize = Int("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Int("intermediate_size"),
            NumHiddenLayers = Int("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = Int("num_key_value_heads", heads),
            HeadDim = o["head_dim"] is null ? hidden / Math.Max(heads, 1) : Int("head_dim"),
            RopeTheta = Dbl("rope_theta", 10000),
            RmsNormEps = Dbl("rms_norm_eps", 1e-6),
            MaxPositionEmbeddings = Int("max_position_embeddings", 32768),
            TieWordEmbeddings = o["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            TorchDtype = o["torch_dtype"]?.GetValue<string>() ?? o["dtype"]?.GetValue<string>() ?? "float32",
            BosTokenId = o["bos_token_id"] is JsonValue b ? b.GetValue<int>() : null,
            EosTokenIds = ReadIds(o["eos_token_id"]),
        };
        config.Validate(path);
        return config;
    }

    internal static int[] ReadIds(JsonNode? node) => node switch
    {
        null => [],
        JsonArray a => a.Select(x => x!.GetValue<int>()).ToArray(),
        JsonValue v => [v.GetValue<int>()],
        _ => [],
    };

    public void Validate(string path)
    {
        void Positive(string name, int value)
        {
            if (value <= 0) throw new ModelFormatException(path, $"field '{name}' must be positive, got {value}");
        }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("intermediate_size", IntermediateSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("num_key_value_heads", NumKeyValueHeads);
        Positive("head_dim", HeadDim);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ModelFormatException(path, $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        if (HeadDim % 2 != 0) throw new ModelFormatException(path, $"head_dim ({HeadDim}) must be even for rotary embeddings");
        if (!(RmsNormEps > 0)) throw new ModelFormatException(path, $"rms_norm_eps must be positive, got {RmsNormEps}");
        if (!(RopeTheta > 0)) throw new ModelFormatException(path, $"rope_theta must be positive, got {RopeTheta}");
    }

    /// <summary>The config.json a Hugging Face checkpoint of this shape carries.</summary>
    public JsonObject ToHuggingFaceJson() => new()
    {
        ["architectures"] = new JsonArray("Qwen3ForCausalLM"),
        ["attention_bias"] = false,
        ["attention_dropout"] = 0.0,
        ["bos_token_id"] = BosTokenId,
        ["eos_token_id"] = EosTokenIds.Length == 1 ? EosTokenIds[0] : new JsonArray(EosTokenIds.Select(x => (JsonNode)x).ToArray()),
        ["head_dim"] = HeadDim,
        ["hidden_act"] = "silu",
        ["hidden_size"] = HiddenSize,
        ["initializer_range"] = 0.02,
        ["intermediate_size"] = IntermediateSize,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["max_window_layers"] = NumHiddenLayers,
        ["model_type"] = ModelType,
        ["num_attention_heads"] = NumAttentionHeads,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["num_key_value_heads"] = NumKeyValueHeads,
        ["rms_norm_eps"] = RmsNormEps,
        ["rope_scaling"] = null,
        ["rope_theta"] = RopeTheta,
        ["sliding_window"] = null,
        ["tie_word_embeddings"] = TieWordEmbeddings,
        ["torch_dtype"] = TorchDtype,
        ["transformers_version"] = "4.51.0",
        ["use_cache"] = true,
        ["use_sliding_window"] = false,
        ["vocab_size"] = VocabSize,
    };
}
