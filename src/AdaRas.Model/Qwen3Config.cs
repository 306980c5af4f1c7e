using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Model;

/// <summary>
/// The fields of a Hugging Face Qwen3 <c>config.json</c> that define the network. Defaults follow
/// transformers' Qwen3Config where the file may omit a field.
/// </summary>
internal sealed record Qwen3Config
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
        InputFiles.RequireRegularFile(path, "config.json");
        JsonNode? root;
        // Duplicate keys are an error (which value would win is a guess), reported here with the file's name.
        try { root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new ModelFormatException(path, $"not valid JSON: {e.Message}", inner: e); }
        if (root is not JsonObject obj) throw new ModelFormatException(path, "not a JSON object");
        try { return Parse(obj, path); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, inner: e); }   // e.g. a key given twice
    }

    public static Qwen3Config Parse(JsonObject o, string path)
    {
        // Every read goes through Field, so a value of the wrong JSON type is reported with its field name.
        T? Field<T>(string key, string expected, Func<JsonNode, T> read)
        {
            var node = o[key];
            if (node is null) return default;
            try { return read(node); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw new ModelFormatException(path, $"field '{key}' must be {expected}, got {node.ToJsonString(MessageJson)}", inner: e); }
        }
        string? Str(string key) => Field(key, "a string", n => n.GetValue<string>());
        bool? Bool(string key) => Field<bool?>(key, "true or false", n => n.GetValue<bool>());
        int Int(string key, int? fallback = null) =>
            Field<int?>(key, "an integer", n => n.GetValue<int>())
            ?? fallback ?? throw new ModelFormatException(path, $"missing required field '{key}'");
        double Dbl(string key, double fallback)
        {
            double v = Field<double?>(key, "a number", n => n.GetValue<double>()) ?? fallback;
            // JSON has no infinity, but 1e999 parses to one; it would reach the graph as inf and then NaN.
            return double.IsFinite(v) ? v : throw new ModelFormatException(path, $"field '{key}' must be a finite number, got {o[key]!.ToJsonString()}");
        }

        string modelType = Str("model_type") ?? "(missing)";
        if (modelType != ModelType)
            throw new ModelFormatException(path, $"unsupported model_type '{modelType}' (this engine runs '{ModelType}')");

        if (Bool("attention_bias") == true)
            throw new ModelFormatException(path, "attention_bias=true is not supported (Qwen3 checkpoints use false)");
        string? ropeType = Field("rope_scaling", "null or an object with a string 'rope_type'",
            n => (n.AsObject()["rope_type"] ?? n.AsObject()["type"])?.GetValue<string>());
        if (ropeType is not null && ropeType != "default")
            throw new ModelFormatException(path, $"rope_scaling type '{ropeType}' is not supported");
        if (Str("hidden_act") is string act && act != "silu")
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
            HeadDim = Int("head_dim", hidden / Math.Max(heads, 1)),
            RopeTheta = Dbl("rope_theta", 10000),
            RmsNormEps = Dbl("rms_norm_eps", 1e-6),
            MaxPositionEmbeddings = Int("max_position_embeddings", 32768),
            TieWordEmbeddings = Bool("tie_word_embeddings") ?? false,
            TorchDtype = Str("torch_dtype") ?? Str("dtype") ?? "float32",
            BosTokenId = Field<int?>("bos_token_id", "an integer or null", n => n.GetValue<int>()),
            EosTokenIds = Field("eos_token_id", "an integer or a list of integers", ReadIds) ?? [],
        };
        config.Validate(path);
        return config;
    }

    /// <summary>Shows offending values in error messages as written (no \u003C escapes).</summary>
    internal static readonly JsonSerializerOptions MessageJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static int[] ReadIds(JsonNode? node) => node switch
    {
        null => [],
        JsonArray a => a.Select(x => x?.GetValue<int>() ?? throw new FormatException("null in the list")).ToArray(),
        JsonValue v => [v.GetValue<int>()],
        _ => throw new FormatException($"expected an integer or a list of integers, got {node.ToJsonString(MessageJson)}"),
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
