using AdaRas.Model;

namespace AdaRas.Export;

/// <summary>
/// Refuses a checkpoint with a NaN or infinite weight before anything is written: such a model exports and loads
/// fine but produces non-finite logits, which a sampler turns into token 0 (NUL bytes) without complaint.
/// </summary>
static class FiniteWeights
{
    const int Chunk = 1 << 20;

    public static void Check(Checkpoint checkpoint, CancellationToken cancellation)
    {
        var buffer = new float[Chunk];
        foreach (var expected in Qwen3Weights.Expected(checkpoint.Config))
        {
            var info = checkpoint.Info(expected.Name);
            for (long first = 0; first < info.ElementCount; first += Chunk)
            {
                cancellation.ThrowIfCancellationRequested();
                var span = buffer.AsSpan(0, (int)Math.Min(Chunk, info.ElementCount - first));
                checkpoint.CopyToFloat32(expected.Name, span, first);
                int bad = NonFinite.IndexOf(span);
                if (bad >= 0)
                    throw new ModelFormatException(info.FilePath,
                        $"element {first + bad} is {span[bad]}; a model with NaN or infinite weights computes garbage, so it is not exported", expected.Name);
            }
        }
    }
}
