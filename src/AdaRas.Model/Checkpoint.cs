using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Model;

/// <summary>
/// A Hugging Face Qwen3 checkpoint folder: <c>config.json</c>, one <c>model.safetensors</c> or shards listed in
/// <c>model.safetensors.index.json</c>, tokenizer and generation files. Opening validates every tensor's name,
/// dtype and shape against the config, so later stages can trust what they read.
/// </summary>
internal sealed class Checkpoint : IDisposable
{
    public const string ConfigFile = "config.json";
    public const string SingleWeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string GenerationConfigFile = "generation_config.json";

    readonly List<SafeTensorsFile> _files;
    readonly Dictionary<string, SafeTensorsFile> _owner;

    public string Folder { get; }
    public Qwen3Config Config { get; }
    public GenerationConfig? Generation { get; }
    /// <summary>The dtype of the weights (all float tensors share one in supported checkpoints).</summary>
    public TensorDType WeightDType { get; }

    Checkpoint(string folder, Qwen3Config config, GenerationConfig? generation, List<SafeTensorsFile> files,
        Dictionary<string, SafeTensorsFile> owner, TensorDType dtype)
    {
        Folder = folder; Config = config; Generation = generation; _files = files; _owner = owner; WeightDType = dtype;
    }

    public static Checkpoint Open(string folder)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw new ModelFormatException(folder, "checkpoint folder not found");
        var config = Qwen3Config.Load(Path.Combine(folder, ConfigFile));
        var genPath = Path.Combine(folder, GenerationConfigFile);
        var generation = File.Exists(genPath) ? GenerationConfig.Load(genPath) : null;

        var files = new List<SafeTensorsFile>();
        try
        {
            var owner = OpenWeights(folder, files, out var weightsPath);
            var dtype = Validate(config, owner, weightsPath);
            return new Checkpoint(folder, config, generation, files, owner, dtype);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <param name="weightsPath">The file that says which tensors exist: the index when sharded, else the single file.</param>
    static Dictionary<string, SafeTensorsFile> OpenWeights(string folder, List<SafeTensorsFile> files, out string weightsPath)
    {
        var owner = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        var indexPath = Path.Combine(folder, IndexFile);
        var singlePath = Path.Combine(folder, SingleWeightsFile);
        if (File.Exists(indexPath))
        {
            weightsPath = indexPath;
            var weightMap = ReadIndex(indexPath);
            foreach (var shardName in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
            {
                // Shards live in the checkpoint folder itself; a path in the index could read any file on disk.
                if (shardName.Length == 0 || shardName != Path.GetFileName(shardName) || shardName is "." or "..")
                    throw new ModelFormatException(indexPath, $"names shard '{shardName}', which is not a plain file name in the checkpoint folder");
                var shardPath = Path.Combine(folder, shardName);
                if (!File.Exists(shardPath))
                    throw new ModelFormatException(indexPath, $"names shard '{shardName}', which is not in the folder");
                var shard = SafeTensorsFile.Open(shardPath);
                files.Add(shard);
                foreach (var name in shard.Tensors.Keys)
                {
                    if (!weightMap.TryGetValue(name, out var listed))
                        throw new ModelFormatException(shardPath, $"is not listed in {IndexFile}", name);
                    if (listed != shardName)
                        throw new ModelFormatException(shardPath, $"{IndexFile} places it in '{listed}'", name);
                    if (!owner.TryAdd(name, shard))
                        throw new ModelFormatException(shardPath, $"also stored in {owner[name].FilePath}", name);
                }
            }
            foreach (var (name, shardName) in weightMap)
                if (!owner.ContainsKey(name))
                    throw new ModelFormatException(Path.Combine(folder, shardName), $"listed in {IndexFile} but missing from the shard", name);
        }
        else if (File.Exists(singlePath))
        {
            weightsPath = singlePath;
            var file = SafeTensorsFile.Open(singlePath);
            files.Add(file);
            foreach (var name in file.Tensors.Keys) owner[name] = file;
        }
        else
        {
            throw new ModelFormatException(folder, $"no {SingleWeightsFile} and no {IndexFile}");
        }
        return owner;
    }

    static Dictionary<string, string> ReadIndex(string path)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new ModelFormatException(path, "not a JSON object");
            var map = root["weight_map"] as JsonObject ?? throw new ModelFormatException(path, "missing 'weight_map'");
            return map.ToDictionary(kv => kv.Key,
                kv => kv.Value?.GetValue<string>() ?? throw new ModelFormatException(path, "weight_map entry is null instead of a shard file name", kv.Key),
                StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException(path, $"cannot parse: {e.Message}", inner: e);
        }
    }

    static TensorDType Validate(Qwen3Config config, Dictionary<string, SafeTensorsFile> owner, string weightsPath)
    {
        var expected = Qwen3Weights.Expected(config).ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        TensorDType? dtype = null;
        foreach (var (name, shape) in expected)
        {
            if (!owner.TryGetValue(name, out var file))
                throw new ModelFormatException(weightsPath, "missing from the checkpoint (config.json requires it)", name);
            var info = file.Tensors[name];
            if (!info.DType.IsFloat())
                throw new ModelFormatException(file.FilePath, $"dtype {info.DType} is not a float type (F32, F16 or BF16)", name);
            if (!info.Shape.SequenceEqual(shape))
                throw new ModelFormatException(file.FilePath, $"shape {info.ShapeText} disagrees with config.json, which implies [{string.Join(", ", shape)}]", name);
            dtype ??= info.DType;
            if (info.DType != dtype)
                throw new ModelFormatException(file.FilePath, $"dtype {info.DType} differs from the other weights ({dtype})", name);
        }
        foreach (var (name, file) in owner)
        {
            if (expected.ContainsKey(name)) continue;
            // Tied checkpoints sometimes still store lm_head.weight; it must then be the embedding's shape.
            if (name == Qwen3Weights.LmHead && config.TieWordEmbeddings &&
                file.Tensors[name].Shape.SequenceEqual(expected[Qwen3Weights.Embedding])) continue;
            throw new ModelFormatException(file.FilePath, "unexpected tensor for a Qwen3 checkpoint of this config", name);
        }
        return dtype!.Value;
    }

    public TensorInfo Info(string name) =>
        _owner.TryGetValue(name, out var f) ? f.Tensors[name] : throw new ModelFormatException(Folder, "tensor not found", name);

    public float[] ReadFloat32(string name) => _owner.TryGetValue(name, out var f)
        ? f.ReadFloat32(f.Tensors[name])
        : throw new ModelFormatException(Folder, "tensor not found", name);

    /// <summary>Copies a contiguous element range of a tensor as float32 (for tensors too large to hold twice).</summary>
    public void CopyToFloat32(string name, Span<float> destination, long firstElement = 0)
    {
        if (!_owner.TryGetValue(name, out var f)) throw new ModelFormatException(Folder, "tensor not found", name);
        f.CopyToFloat32(f.Tensors[name], destination, firstElement);
    }

    public string PathOf(string file) => Path.Combine(Folder, file);

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
