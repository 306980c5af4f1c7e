using System.Security.Cryptography;
using System.Text;

namespace AdaRas.Model;

/// <summary>
/// A stable name for "these weights": SHA-256 over the architecture numbers and every tensor's name, dtype,
/// shape and bytes, in name order. Patterns and gate files record it, so applying them to another model is
/// caught. It identifies the source checkpoint, so fp32 and fp16 exports of one checkpoint share it.
/// </summary>
internal static class ModelIdentity
{
    public static string Compute(Checkpoint checkpoint)
    {
        var c = checkpoint.Config;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(
            $"qwen3|{c.VocabSize}|{c.HiddenSize}|{c.IntermediateSize}|{c.NumHiddenLayers}|{c.NumAttentionHeads}|" +
            $"{c.NumKeyValueHeads}|{c.HeadDim}|{c.RopeTheta:R}|{c.RmsNormEps:R}|{c.TieWordEmbeddings}"));
        var buffer = new float[1 << 20];
        foreach (var (name, _) in Qwen3Weights.Expected(c).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var info = checkpoint.Info(name);
            sha.AppendData(Encoding.UTF8.GetBytes($"|{name}|{info.ShapeText}|"));
            // Hash values as float32 so a checkpoint and its exact upcast (bf16 -> fp32) hash alike.
            for (long done = 0; done < info.ElementCount; done += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, info.ElementCount - done);
                checkpoint.CopyToFloat32(name, buffer.AsSpan(0, n), done);
                sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
            }
        }
        var hex = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
        return $"qwen3-{c.NumHiddenLayers}x{c.IntermediateSize}-{hex[..16]}";
    }
}
