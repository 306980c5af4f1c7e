using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Model;
using Google.Protobuf;
using Onnx;

namespace AdaRas.Export;

/// <summary>What an export produced.</summary>
internal sealed record ExportResult(string Folder, ModelManifest Manifest, long WeightBytes, TimeSpan Elapsed);

/// <summary>
/// Hugging Face Qwen3 checkpoint -> model folder that both this engine and ONNX Runtime GenAI load:
/// <c>model.onnx</c> (+ <c>model.onnx.data</c>), <c>genai_config.json</c>, the tokenizer files and <c>manifest.json</c>.
/// The folder is built beside the destination and renamed into place, so a failed export leaves nothing behind.
/// </summary>
internal static class Qwen3Exporter
{
    public const string GraphFile = "model.onnx";
    public const string ExternalDataFile = "model.onnx.data";
    public const string GenAiConfigFile = "genai_config.json";

    /// <summary>Files copied verbatim from the checkpoint when present (tokenizer.json is required).</summary>
    static readonly string[] CopiedFiles =
    [
        Checkpoint.TokenizerFile, Checkpoint.TokenizerConfigFile, Checkpoint.GenerationConfigFile,
        "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json", Checkpoint.ConfigFile,
    ];

    /// <summary>Largest context the exporter builds a rotary cache for (Qwen3 uses 32768 to 131072 positions).</summary>
    public const int MaxContextLength = ModelManifest.MaxContextLength;

    // Long on purpose: the export's steps in order (validate, build, write weights, graph, configs, manifest) inside one
    // write-to-temporary-then-rename, so a failure at any step leaves no half-written folder.
    /// <param name="cancellation">Stops the export between tensors; the temporary folder is removed.</param>
    public static ExportResult Export(string checkpointFolder, string outputFolder, ExportOptions? options = null,
        IProgress<ExportProgress>? progress = null, CancellationToken cancellation = default)
    {
        options ??= new ExportOptions();
        var clock = Stopwatch.StartNew();
        using var checkpoint = Checkpoint.Open(checkpointFolder);
        var c = checkpoint.Config;
        if (!File.Exists(checkpoint.PathOf(Checkpoint.TokenizerFile)))
            throw new ModelFormatException(checkpoint.PathOf(Checkpoint.TokenizerFile), "file not found (the model folder needs the tokenizer)");
        // ONNX Runtime's GroupQueryAttention kernels only take head sizes that are multiples of 16 (Qwen3 uses 128).
        if (c.HeadDim % 16 != 0)
            throw new ModelFormatException(checkpoint.PathOf(Checkpoint.ConfigFile), $"head_dim {c.HeadDim} is not a multiple of 16, which ONNX Runtime's GroupQueryAttention requires");
        int contextLength = options.ContextLength ?? c.MaxPositionEmbeddings;
        if (contextLength is <= 0 or > MaxContextLength)
            throw options.ContextLength is null
                ? new ModelFormatException(checkpoint.PathOf(Checkpoint.ConfigFile), $"max_position_embeddings {contextLength} is outside [1, {MaxContextLength}]; pass --context-length to export a shorter context")
                : new UsageException($"--context-length {contextLength} is outside [1, {MaxContextLength}]");
        ExportTarget.Check(checkpoint.Folder, outputFolder, options.Overwrite);

        if (options.BlockSize < 16 || (options.BlockSize & (options.BlockSize - 1)) != 0)
            throw new UsageException($"--block-size must be a power of two >= 16, got {options.BlockSize}");
        // Bytes per weight element: quantized ones carry one float32 scale per block.
        double elemSize = options.Precision switch
        {
            ExportPrecision.Fp16 => 2,
            ExportPrecision.Int8 => 1 + 4.0 / options.BlockSize,
            ExportPrecision.Int4 => 0.5 + 4.0 / options.BlockSize,
            _ => 4,
        };
        // Tied embeddings are stored once (in lm_head's layout), so the expected tensors count them once.
        long weightElements = Qwen3Weights.Expected(c).Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b))
            + (long)contextLength * c.HeadDim;                                 // cos and sin caches
        long weightBytes = (long)(weightElements * elemSize);
        bool external = options.ExternalData switch
        {
            ExternalDataMode.Always => true,
            ExternalDataMode.Never => false,
            _ => weightBytes > ExportOptions.InlineLimitBytes,
        };
        if (!external && weightBytes > int.MaxValue)
            throw new UsageException($"{weightBytes} bytes of weights cannot be held in one protobuf; use --external-data auto or always");

        progress?.Report(new ExportProgress("checking", 0, weightBytes));
        if (!options.AllowNonFiniteWeights) FiniteWeights.Check(checkpoint, cancellation);
        progress?.Report(new ExportProgress("identity", 0, weightBytes));
        string modelId = ModelIdentity.Compute(checkpoint);
        cancellation.ThrowIfCancellationRequested();

        ModelManifest? manifest = null;
        long written = 0;
        AtomicFile.WriteFolder(outputFolder, options.Overwrite, temp =>
        {
            GraphProto graph;
            using (var weights = new WeightStore(options.Precision == ExportPrecision.Fp16 ? OnnxGraph.Float16 : OnnxGraph.Float,
                       external ? Path.Combine(temp, ExternalDataFile) : null))
            {
                long done = 0;
                var builder = new Qwen3GraphBuilder(checkpoint, options, weights, contextLength, (step, elements) =>
                {
                    cancellation.ThrowIfCancellationRequested();
                    done += (long)(elements * elemSize);
                    progress?.Report(new ExportProgress(step, Math.Min(done, weightBytes), weightBytes));
                });
                graph = builder.Build();
                written = weights.BytesWritten;
            }

            var model = new ModelProto
            {
                IrVersion = 10,
                ProducerName = "adaras-export",
                ProducerVersion = typeof(Qwen3Exporter).Assembly.GetName().Version?.ToString() ?? "0",
                Graph = graph,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 21 });
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = OnnxGraph.MicrosoftDomain, Version = 1 });
            model.MetadataProps.Add(new StringStringEntryProto { Key = "adaras.model_id", Value = modelId });
            using (var stream = File.Create(Path.Combine(temp, GraphFile)))
                model.WriteTo(stream);

            foreach (var file in CopiedFiles)
                if (File.Exists(checkpoint.PathOf(file)))
                    File.Copy(checkpoint.PathOf(file), Path.Combine(temp, file));

            manifest = BuildManifest(checkpoint, options, graph, modelId, external, contextLength);
            manifest.Save(Path.Combine(temp, ModelManifest.FileName));
            File.WriteAllText(Path.Combine(temp, GenAiConfigFile), GenAiConfig(checkpoint, options, contextLength).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            cancellation.ThrowIfCancellationRequested();
        });
        progress?.Report(new ExportProgress("done", weightBytes, weightBytes));
        return new ExportResult(Path.GetFullPath(outputFolder), manifest!, written, clock.Elapsed);
    }

    static ModelManifest BuildManifest(Checkpoint checkpoint, ExportOptions options, GraphProto graph, string modelId,
        bool external, int contextLength)
    {
        var c = checkpoint.Config;
        static TensorSpec Spec(ValueInfoProto v)
        {
            var t = v.Type.TensorType;
            var shape = t.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? (object)d.DimParam : d.DimValue).ToArray();
            string dtype = ((TensorProto.Types.DataType)t.ElemType).ToString().ToLowerInvariant();
            return new TensorSpec(v.Name, dtype, shape, Describe(v.Name));
        }
        return new ModelManifest
        {
            ModelId = modelId,
            Precision = options.Precision.ToString().ToLowerInvariant(),
            KvCache = options.HalfKvCache ? "fp16" : "fp32",
            Steerable = options.Steerable,
            GraphFile = GraphFile,
            ExternalDataFile = external ? ExternalDataFile : null,
            SourceDType = checkpoint.WeightDType.ToString().ToLowerInvariant(),
            NumLayers = c.NumHiddenLayers,
            HiddenSize = c.HiddenSize,
            IntermediateSize = c.IntermediateSize,
            NumAttentionHeads = c.NumAttentionHeads,
            NumKeyValueHeads = c.NumKeyValueHeads,
            HeadDim = c.HeadDim,
            VocabSize = c.VocabSize,
            RopeTheta = c.RopeTheta,
            RmsNormEps = c.RmsNormEps,
            ContextLength = contextLength,
            TieWordEmbeddings = c.TieWordEmbeddings,
            Inputs = graph.Input.Select(Spec).ToArray(),
            Outputs = graph.Output.Select(Spec).ToArray(),
        };
    }

    static string Describe(string name) => name switch
    {
        GraphNames.InputIds => "token ids of this call",
        GraphNames.AttentionMask => "1 for every cached and new token (GroupQueryAttention derives lengths from it)",
        GraphNames.Logits => "next-token logits for positions from logits_from on",
        GraphNames.LogitsFrom => "first position whose logits are computed; negative counts from the end; default 0",
        GraphNames.SteeringFrom => "first steered position; negative counts from the end; default -1 (last position)",
        GraphNames.TapsEnabled => "compute the three taps in this call; default true; false returns them empty and skips their work",
        GraphNames.TapLast => "pre-steering MLP intermediate at the call's last position",
        GraphNames.TapSum => "pre-steering MLP intermediate summed over the call's positions",
        GraphNames.TapFeatures => "pre-steering MLP intermediate per token at features.{l}.indices, layers in order",
        _ when name.StartsWith("past_key_values.") => "KV cache; shares its buffer with the matching present output",
        _ when name.StartsWith("present.") => "KV cache after this call",
        _ when name.EndsWith(".scale") => "per-neuron multiplier on the MLP intermediate at steered positions; default 1",
        _ when name.EndsWith(".shift") => "per-neuron offset on the MLP intermediate at steered positions; default 0",
        _ when name.StartsWith("features.") => "neuron indices of this layer to gather per token; default none",
        _ => "",
    };

    /// <summary>The genai_config.json ONNX Runtime GenAI reads (the layout its own model builder writes for Qwen3 with GQA).</summary>
// Long on purpose: a JSON literal, the genai_config.json ONNX Runtime GenAI reads, field for field.
    static JsonObject GenAiConfig(Checkpoint checkpoint, ExportOptions options, int contextLength)
    {
        var c = checkpoint.Config;
        var gen = checkpoint.Generation;
        int[] eos = gen?.EosTokenIds.Length > 0 ? gen.EosTokenIds : c.EosTokenIds;
        JsonNode eosNode = eos.Length == 1 ? eos[0] : new JsonArray(eos.Select(e => (JsonNode)e).ToArray());
        int pad = gen?.PadTokenId ?? (eos.Length > 0 ? eos[0] : 0);
        var providers = new JsonArray();
        if (options.Precision == ExportPrecision.Fp16) providers.Add(new JsonObject { ["cuda"] = new JsonObject() });
        return new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["bos_token_id"] = gen?.BosTokenId ?? c.BosTokenId ?? (eos.Length > 0 ? eos[0] : 0),
                ["context_length"] = contextLength,
                ["decoder"] = new JsonObject
                {
                    ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = providers },
                    ["filename"] = GraphFile,
                    ["head_size"] = c.HeadDim,
                    ["hidden_size"] = c.HiddenSize,
                    ["inputs"] = new JsonObject
                    {
                        ["input_ids"] = GraphNames.InputIds,
                        ["attention_mask"] = GraphNames.AttentionMask,
                        ["past_key_names"] = "past_key_values.%d.key",
                        ["past_value_names"] = "past_key_values.%d.value",
                    },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = GraphNames.Logits,
                        ["present_key_names"] = "present.%d.key",
                        ["present_value_names"] = "present.%d.value",
                    },
                    ["num_attention_heads"] = c.NumAttentionHeads,
                    ["num_hidden_layers"] = c.NumHiddenLayers,
                    ["num_key_value_heads"] = c.NumKeyValueHeads,
                },
                ["eos_token_id"] = eosNode,
                ["pad_token_id"] = pad,
                ["type"] = "qwen3",
                ["vocab_size"] = c.VocabSize,
            },
            ["search"] = new JsonObject
            {
                ["diversity_penalty"] = 0.0,
                ["do_sample"] = gen?.DoSample ?? false,
                ["early_stopping"] = true,
                ["length_penalty"] = 1.0,
                ["max_length"] = contextLength,
                ["min_length"] = 0,
                ["no_repeat_ngram_size"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["past_present_share_buffer"] = true,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = gen?.Temperature ?? 1.0,
                ["top_k"] = gen?.TopK ?? 50,
                ["top_p"] = gen?.TopP ?? 1.0,
            },
        };
    }
}
