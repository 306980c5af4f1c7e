using AdaRas.Engine.Tokenization;
using AdaRas.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AdaRas.Engine;

/// <summary>
/// An exported model folder loaded into one ONNX Runtime session. Load once, then create any number of
/// <see cref="Generator"/>s from it (one at a time per thread). Disposing the model ends the session.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    /// <summary>The exported model folder (full path).</summary>
    public string Folder { get; }
    /// <summary>The folder's manifest, checked against the graph at load.</summary>
    public ModelManifest Manifest { get; }
    internal GenerationConfig Generation { get; }
    /// <summary>Provider and threading the session was created with.</summary>
    public ModelOptions Options { get; }
    internal InferenceSession Session { get; }
    readonly Lazy<QwenTokenizer> _tokenizer;
    /// <summary>The folder's tokenizer, loaded on first use.</summary>
    public QwenTokenizer Tokenizer => _tokenizer.Value;
    internal TensorElementType CacheElementType { get; }
    internal OrtMemoryInfo DeviceMemory { get; }

    LanguageModel(string folder, ModelManifest manifest, GenerationConfig generation, ModelOptions options, InferenceSession session)
    {
        Folder = folder; Manifest = manifest; Generation = generation; Options = options; Session = session;
        _tokenizer = new Lazy<QwenTokenizer>(() => QwenTokenizer.FromFolder(folder));
        CacheElementType = manifest.HalfKvCache ? TensorElementType.Float16 : TensorElementType.Float;
        DeviceMemory = options.Provider == ExecutionProvider.Cuda
            ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, options.CudaDeviceId, OrtMemType.Default)
            : OrtMemoryInfo.DefaultInstance;
    }

    /// <summary>Loads an exported folder: manifest, generation config and one ONNX Runtime session.</summary>
    /// <exception cref="ModelFormatException">The folder is missing, or its manifest or graph does not fit the contract.</exception>
    public static LanguageModel Load(string folder, ModelOptions? options = null)
    {
        options ??= new ModelOptions();
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw new ModelFormatException(folder, "model folder not found");
        var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        var graphPath = Path.Combine(folder, manifest.GraphFile);
        if (!File.Exists(graphPath)) throw new ModelFormatException(graphPath, "graph file named by manifest.json not found");
        if (manifest.ExternalDataFile is { } data && !File.Exists(Path.Combine(folder, data)))
            throw new ModelFormatException(Path.Combine(folder, data), "external data file named by manifest.json not found");
        var genPath = Path.Combine(folder, Checkpoint.GenerationConfigFile);
        var generation = File.Exists(genPath) ? GenerationConfig.Load(genPath) : new GenerationConfig();

        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // The steering inputs carry identity initializers on purpose; ORT warns about each one.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            IntraOpNumThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads
                : manifest.WeightBytesPerToken < ModelOptions.SmallModelBytes ? 1 : 0,
        };
        if (!options.AllowSpinning) sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (options.Provider == ExecutionProvider.Cuda)
        {
#if ADARAS_CUDA
            sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
#else
            throw new NotSupportedException("this build has no CUDA provider: rebuild with -p:AdaRasCuda=true");
#endif
        }
        InferenceSession session;
        try { session = new InferenceSession(graphPath, sessionOptions); }
        catch (OnnxRuntimeException e) { throw new ModelFormatException(graphPath, $"ONNX Runtime cannot load the graph: {e.Message}", inner: e); }
        try
        {
            CheckGraphAgainstManifest(graphPath, session, manifest);
            return new LanguageModel(folder, manifest, generation, options, session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The manifest is a promise about the graph; a folder whose parts disagree is refused up front.</summary>
    static void CheckGraphAgainstManifest(string graphPath, InferenceSession session, ModelManifest manifest)
    {
        void Check(IReadOnlyDictionary<string, NodeMetadata> actual, TensorSpec[] expected, string kind)
        {
            foreach (var spec in expected)
            {
                if (!actual.TryGetValue(spec.Name, out var meta))
                    throw new ModelFormatException(graphPath, $"manifest.json lists {kind} '{spec.Name}' but the graph has none");
                var dims = meta.Dimensions;
                if (dims.Length != spec.Shape.Length)
                    throw new ModelFormatException(graphPath, $"{kind} '{spec.Name}' has rank {dims.Length} in the graph but {spec.Shape.Length} in manifest.json");
                for (int i = 0; i < dims.Length; i++)
                    if (spec.Shape[i] is System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Number } n && n.GetInt64() != dims[i])
                        throw new ModelFormatException(graphPath, $"{kind} '{spec.Name}' dimension {i} is {dims[i]} in the graph but {n.GetInt64()} in manifest.json");
            }
            foreach (var name in actual.Keys)
                if (!expected.Any(e => e.Name == name))
                    throw new ModelFormatException(graphPath, $"graph {kind} '{name}' is missing from manifest.json");
        }
        // Inputs that carry default initializers (steering, logits_from) are "overridable initializers" to ORT.
        var inputs = session.InputMetadata.Concat(session.OverridableInitializerMetadata).ToDictionary(kv => kv.Key, kv => kv.Value);
        Check(inputs, manifest.Inputs, "input");
        Check(session.OutputMetadata, manifest.Outputs, "output");
        if (!session.OutputMetadata.TryGetValue(GraphNames.Logits, out var logits) || logits.Dimensions[^1] != manifest.VocabSize)
            throw new ModelFormatException(graphPath, $"logits output does not end in vocab_size {manifest.VocabSize}");
        CheckShapeNumbers(graphPath, inputs, session.OutputMetadata, manifest);
    }

    /// <summary>
    /// The manifest's numbers size every buffer the engine binds: a layer count, KV shape or intermediate size that
    /// disagrees with the graph would fail (or read out of bounds) mid-generation, so compare them with the graph here.
    /// </summary>
    static void CheckShapeNumbers(string graphPath, IReadOnlyDictionary<string, NodeMetadata> inputs,
        IReadOnlyDictionary<string, NodeMetadata> outputs, ModelManifest manifest)
    {
        void Expect(string what, long graph, long promised, string field)
        {
            if (graph >= 0 && graph != promised)
                throw new ModelFormatException(graphPath, $"{what} is {graph} in the graph but manifest.json says {field} = {promised}");
        }
        int kvInputs = inputs.Keys.Count(k => k.StartsWith("past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
        Expect("the number of layers (past_key_values.N.key inputs)", kvInputs, manifest.NumLayers, "num_layers");
        if (inputs.TryGetValue("past_key_values.0.key", out var kv) && kv.Dimensions.Length == 4)
        {
            Expect("past_key_values.0.key dimension 1", kv.Dimensions[1], manifest.NumKeyValueHeads, "num_key_value_heads");
            Expect("past_key_values.0.key dimension 3", kv.Dimensions[3], manifest.HeadDim, "head_dim");
        }
        if (manifest.Steerable && outputs.TryGetValue(GraphNames.TapLast, out var tap) && tap.Dimensions.Length == 3)
        {
            Expect($"{GraphNames.TapLast} dimension 1", tap.Dimensions[1], manifest.NumLayers, "num_layers");
            Expect($"{GraphNames.TapLast} dimension 2", tap.Dimensions[2], manifest.IntermediateSize, "intermediate_size");
        }
    }


    /// <summary>
    /// A graph that fails at run time after loading cleanly is a model folder whose parts disagree in a way the
    /// load-time checks cannot see, e.g. a manifest.json context_length above the graph's rotary cache.
    /// </summary>
    internal ModelFormatException RunFailed(OnnxRuntimeException e, int position) => new(Path.Combine(Folder, Manifest.GraphFile),
        $"ONNX Runtime failed at position {position} (manifest.json promises a context of {Manifest.ContextLength}; " +
        $"a graph exported for fewer positions fails like this): {e.Message}", inner: e);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        Session.Dispose();
        if (!ReferenceEquals(DeviceMemory, OrtMemoryInfo.DefaultInstance)) DeviceMemory.Dispose();
    }
}
