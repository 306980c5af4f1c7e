using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Model;

namespace AdaRas.Model.Synthetic;

/// <summary>
/// Writes a seeded random Qwen3 checkpoint in the exact Hugging Face layout: <c>config.json</c>,
/// <c>generation_config.json</c>, <c>model.safetensors</c> (or shards plus <c>model.safetensors.index.json</c>),
/// and the tiny tokenizer's <c>tokenizer.json</c> / <c>tokenizer_config.json</c>.
/// <para>
/// Values are a pure function of (seed, tensor name, shape): each tensor draws from its own
/// <see cref="Random"/> seeded from both, so sharding or dtype never changes what a tensor holds (bf16/fp16
/// files store the float32 draws rounded to nearest-even). Tensors are generated in chunks while they are
/// written, so even Qwen3-1.7B shapes need only a few MB of memory.
/// </para>
/// <para>
/// Scales are chosen so that a forward pass is far from flat: Linear weights ~ N(0, (gain/sqrt(fan_in))^2)
/// keep every sublayer's output near unit size; the embedding (and lm_head) ~ N(0, (3 gain/sqrt(hidden))^2)
/// give logits with a spread of a few units, so greedy decoding has clear winners; RMSNorm weights
/// ~ 1 + 0.1 N(0, 1) so that a skipped or misplaced norm weight changes the output.
/// </para>
/// </summary>
internal static class RandomCheckpoint
{
    /// <summary>Standard deviation of logits over the vocabulary that the embedding scale aims at (before gain).</summary>
    public const double LogitSpread = 3.0;

    /// <param name="folder">Destination; written to a temporary sibling and renamed into place.</param>
    /// <param name="dtype">Weight dtype; null means the shape's <see cref="CheckpointShape.DefaultDType"/>.</param>
    /// <param name="shards">1 writes <c>model.safetensors</c>; more writes HF-style shards and an index.</param>
    /// <param name="overwrite">Replace an existing folder (otherwise an existing folder is an error).</param>
    /// <param name="gain">Multiplies every weight's standard deviation (norm weights excepted).</param>
    /// <param name="cancellation">Checked every 64k values; cancelling removes the temporary folder (nothing is left).</param>
    public static void Write(string folder, CheckpointShape shape, int seed, TensorDType? dtype = null, int shards = 1,
        bool overwrite = false, double gain = 1.0, CancellationToken cancellation = default)
    {
        var type = dtype ?? shape.DefaultDType;
        if (!type.IsFloat()) throw new ArgumentException($"{type} is not a weight dtype (F32, BF16 or F16)", nameof(dtype));
        if (!(gain > 0)) throw new ArgumentOutOfRangeException(nameof(gain), gain, "must be positive");
        var config = shape.ToConfig(type);
        var tensors = Qwen3Weights.Expected(config)
            .Select(t => new StreamedTensor(t.Name, type, t.Shape, stream => WriteValues(stream, shape, seed, t.Name, t.Shape, type, gain, cancellation)))
            .ToList();
        if (shards < 1 || shards > tensors.Count)
            throw new UsageException($"--shards {shards} must be between 1 and the checkpoint's tensor count ({tensors.Count})");

        AtomicFile.WriteFolder(folder, overwrite, temp =>
        {
            WriteText(Path.Combine(temp, Checkpoint.ConfigFile), config.ToHuggingFaceJson());
            WriteText(Path.Combine(temp, Checkpoint.GenerationConfigFile), GenerationConfigFor().ToJson());
            AtomicFile.WriteAllText(Path.Combine(temp, Checkpoint.TokenizerFile), TinyTokenizer.TokenizerJson());
            AtomicFile.WriteAllText(Path.Combine(temp, Checkpoint.TokenizerConfigFile), TinyTokenizer.TokenizerConfigJson(shape.MaxPositions));
            WriteWeights(temp, tensors, shards);
        });
    }

    /// <summary>Qwen3's generation defaults, with the tiny tokenizer's ids: stop at &lt;|im_end|&gt; or &lt;|endoftext|&gt;.</summary>
    public static GenerationConfig GenerationConfigFor() => new()
    {
        BosTokenId = TinyTokenizer.IdOf(TinyTokenizer.EndOfText),
        EosTokenIds = [TinyTokenizer.IdOf(TinyTokenizer.ImEnd), TinyTokenizer.IdOf(TinyTokenizer.EndOfText)],
        PadTokenId = TinyTokenizer.IdOf(TinyTokenizer.EndOfText),
        DoSample = true,
        Temperature = 0.6,
        TopK = 20,
        TopP = 0.95,
    };

    /// <summary>
    /// The float32 values <see cref="Write"/> draws for one tensor (before any bf16/fp16 rounding), so tests can
    /// compare what a reader returns with what was meant to be stored.
    /// </summary>
    public static float[] Values(CheckpointShape shape, int seed, string tensorName, double gain = 1.0)
    {
        var (_, tensorShape) = Qwen3Weights.Expected(shape.ToConfig(TensorDType.F32)).FirstOrDefault(t => t.Name == tensorName);
        if (tensorShape is null) throw new ArgumentException($"'{tensorName}' is not a tensor of shape {shape.Name}");
        var values = new float[checked((int)tensorShape.Aggregate(1L, (a, b) => a * b))];
        var draw = Distribution(shape, seed, tensorName, gain);
        draw(values);
        return values;
    }

    static void WriteWeights(string folder, List<StreamedTensor> tensors, int shards)
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (shards == 1)
        {
            SafeTensorsWriter.Write(Path.Combine(folder, Checkpoint.SingleWeightsFile), tensors, metadata);
            return;
        }
        var groups = SplitBalanced(tensors, shards);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int k = 0; k < shards; k++)
        {
            string file = $"model-{k + 1:D5}-of-{shards:D5}.safetensors";
            SafeTensorsWriter.Write(Path.Combine(folder, file), groups[k], metadata);
            foreach (var t in groups[k]) weightMap[t.Name] = file;
        }
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = tensors.Sum(t => t.ByteLength) },
            ["weight_map"] = new JsonObject(weightMap.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        WriteText(Path.Combine(folder, Checkpoint.IndexFile), index);
    }

    /// <summary>Consecutive groups of roughly equal byte size, none empty (as HF's max_shard_size splitting does).</summary>
    static List<List<StreamedTensor>> SplitBalanced(List<StreamedTensor> tensors, int shards)
    {
        long total = tensors.Sum(t => t.ByteLength);
        var groups = new List<List<StreamedTensor>> { new() };
        long done = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            int remainingTensors = tensors.Count - i, remainingGroups = shards - groups.Count;
            bool full = done >= (double)total * groups.Count / shards;
            if (groups[^1].Count > 0 && remainingGroups > 0 && (full || remainingTensors == remainingGroups))
                groups.Add(new());
            groups[^1].Add(tensors[i]);
            done += tensors[i].ByteLength;
        }
        return groups;
    }

    static void WriteValues(Stream stream, CheckpointShape shape, int seed, string name, long[] tensorShape, TensorDType dtype, double gain,
        CancellationToken cancellation)
    {
        const int chunk = 1 << 16;
        long count = tensorShape.Aggregate(1L, (a, b) => a * b);
        var values = new float[chunk];
        var bytes = new byte[chunk * dtype.SizeOf()];
        var draw = Distribution(shape, seed, name, gain);
        for (long done = 0; done < count; done += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = (int)Math.Min(chunk, count - done);
            draw(values.AsSpan(0, n));
            TensorDTypes.FromFloat32(dtype, values.AsSpan(0, n), bytes.AsSpan(0, n * dtype.SizeOf()));
            stream.Write(bytes, 0, n * dtype.SizeOf());
        }
    }

    delegate void Fill(Span<float> destination);

    /// <summary>A stateful filler: successive calls continue the same tensor's sequence of draws.</summary>
    static Fill Distribution(CheckpointShape shape, int seed, string name, double gain)
    {
        var normal = new NormalSource(TensorSeed(seed, name));
        double mean = 0, std;
        if (name.EndsWith("norm.weight", StringComparison.Ordinal))
        {
            mean = 1; std = 0.1;
        }
        else if (name is Qwen3Weights.Embedding or Qwen3Weights.LmHead)
        {
            std = gain * LogitSpread / Math.Sqrt(shape.Hidden);
        }
        else
        {
            std = gain / Math.Sqrt(FanIn(shape, name));
        }
        return destination =>
        {
            for (int i = 0; i < destination.Length; i++) destination[i] = (float)(mean + std * normal.Next());
        };
    }

    static int FanIn(CheckpointShape s, string name) =>
        name.EndsWith(Qwen3Weights.OProj, StringComparison.Ordinal) ? s.Heads * s.HeadDim
        : name.EndsWith(Qwen3Weights.DownProj, StringComparison.Ordinal) ? s.Intermediate
        : s.Hidden; // q, k, v, gate, up all read the hidden state

    /// <summary>FNV-1a of the name mixed with the seed: stable across runs, processes and .NET versions.</summary>
    static int TensorSeed(int seed, string name)
    {
        ulong h = 14695981039346656037UL ^ (ulong)(uint)seed * 0x9E3779B97F4A7C15UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name)) { h ^= b; h *= 1099511628211UL; }
        return (int)(h ^ (h >> 32)) & int.MaxValue;
    }

    /// <summary>Standard normal draws by Box-Muller over a seeded <see cref="Random"/> (whose seeded sequence is fixed).</summary>
    sealed class NormalSource(int seed)
    {
        readonly Random _random = new(seed);
        double? _spare;

        public double Next()
        {
            if (_spare is { } s) { _spare = null; return s; }
            double u1 = 1.0 - _random.NextDouble(); // (0, 1]: log is finite
            double u2 = _random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double angle = 2.0 * Math.PI * u2;
            _spare = radius * Math.Sin(angle);
            return radius * Math.Cos(angle);
        }
    }

    static void WriteText(string path, JsonNode node) =>
        AtomicFile.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}
