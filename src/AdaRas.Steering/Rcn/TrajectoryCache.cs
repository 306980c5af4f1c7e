using System.Security.Cryptography;
using System.Text;
using AdaRas.Model;

namespace AdaRas.Steering.Rcn;

/// <summary>
/// What teacher-forcing one trajectory produced: the MLP activations summed over its tokens
/// (float [layers * I], neuron id = layer * I + index) and the token count. The mean is <c>Sum / Tokens</c>.
/// </summary>
internal sealed record TrajectoryActivations(float[] Sum, int Tokens)
{
    public float[] Mean()
    {
        var mean = new float[Sum.Length];
        for (int i = 0; i < mean.Length; i++) mean[i] = (float)((double)Sum[i] / Tokens);
        return mean;
    }
}

/// <summary>
/// Finished trajectories of an identification run, one file each (<c>&lt;id&gt;_&lt;_id&gt;.bin</c>), so an
/// interrupted run resumes where it stopped. An entry is used only if it was made by the same model (id,
/// precision, shape) from the same token ids; anything else (changed text or tokenizer, another model, an
/// unreadable file) is a miss and is recomputed and replaced. Files are written atomically.
/// </summary>
/// <remarks>
/// Layout (little-endian): magic <c>ADRSTRJ1</c>; model key, input hash, id, _id (length-prefixed UTF-8);
/// int32 layers, int32 intermediate size, int32 tokens; then layers * I float32 sums.
/// </remarks>
internal sealed class TrajectoryCache
{
    static readonly byte[] Magic = "ADRSTRJ1"u8.ToArray();

    public string Folder { get; }
    /// <summary>Identifies the model whose activations are cached: model id, precision and shape.</summary>
    public string ModelKey { get; }
    public int Layers { get; }
    public int IntermediateSize { get; }

    public TrajectoryCache(string folder, ModelManifest manifest)
    {
        Folder = folder;
        ModelKey = $"{manifest.ModelId}|{manifest.Precision}|{manifest.NumLayers}x{manifest.IntermediateSize}";
        Layers = manifest.NumLayers;
        IntermediateSize = manifest.IntermediateSize;
    }

    /// <summary>The default cache folder of a pattern: <c>&lt;pattern&gt;.cache</c> beside it.</summary>
    public static string FolderFor(string patternPath) => Path.GetFullPath(patternPath) + ".cache";

    /// <summary>SHA-256 of the token ids: covers the text and the tokenizer that turned it into ids.</summary>
    public static string InputHash(ReadOnlySpan<int> ids) =>
        Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids))).ToLowerInvariant();

    public string PathFor(Trajectory t) => Path.Combine(Folder, $"{Safe(t.Id)}_{Safe(t.SampleId)}.bin");

    static string Safe(string s)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var b = new StringBuilder(s.Length);
        foreach (var c in s) b.Append(invalid.Contains(c) || c == '_' || char.IsWhiteSpace(c) ? '-' : c);
        return b.ToString();
    }

    /// <summary>True when a valid entry for this trajectory and input exists (reads only the header).</summary>
    public bool Contains(Trajectory t, string inputHash) => Read(t, inputHash, headerOnly: true) is not null;

    /// <summary>The cached activations, or null on a miss.</summary>
    public TrajectoryActivations? TryLoad(Trajectory t, string inputHash) => Read(t, inputHash, headerOnly: false);

    public void Save(Trajectory t, string inputHash, TrajectoryActivations activations)
    {
        if (activations.Sum.Length != Layers * IntermediateSize)
            throw new ArgumentException($"trajectory {t}: {activations.Sum.Length} sums, expected {Layers} x {IntermediateSize}");
        Directory.CreateDirectory(Folder);
        AtomicFile.Write(PathFor(t), stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(ModelKey);
            w.Write(inputHash);
            w.Write(t.Id);
            w.Write(t.SampleId);
            w.Write(Layers);
            w.Write(IntermediateSize);
            w.Write(activations.Tokens);
            w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(activations.Sum.AsSpan()));
        });
    }

    TrajectoryActivations? Read(Trajectory t, string inputHash, bool headerOnly)
    {
        var path = PathFor(t);
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = File.OpenRead(path);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) return null;
            if (r.ReadString() != ModelKey || r.ReadString() != inputHash || r.ReadString() != t.Id || r.ReadString() != t.SampleId) return null;
            if (r.ReadInt32() != Layers || r.ReadInt32() != IntermediateSize) return null;
            int tokens = r.ReadInt32();
            long n = (long)Layers * IntermediateSize;
            if (tokens <= 0 || stream.Length - stream.Position != n * sizeof(float)) return null;
            if (headerOnly) return new TrajectoryActivations([], tokens);
            var sum = new float[n];
            stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(sum.AsSpan()));
            return new TrajectoryActivations(sum, tokens);
        }
        catch (EndOfStreamException) { return null; }
        catch (IOException) { return null; }
    }
}
