using System.Numerics.Tensors;
using AdaRas.Model;

namespace AdaRas.Engine;

/// <summary>Log-probabilities of a token sequence under the model (teacher forcing).</summary>
public sealed record ScoreResult(int[] Ids, double[] LogProbs)
{
    /// <summary>Sum of the log-probabilities of every token after the first.</summary>
    public double Total => LogProbs.Sum();
}

/// <summary>Teacher forcing: each token's log-probability given its prefix.</summary>
public static class Scoring
{
    /// <summary>
    /// Positions whose logits are held at once. Logits of a whole 32k-token trace at Qwen3's vocabulary would be
    /// 4.9e9 floats (past int indexing and .NET's array limit), so the sequence is teacher-forced in windows of
    /// this many positions through the KV cache and each window's rows are reduced to log-probabilities at once.
    /// </summary>
    public const int WindowTokens = 128;

    /// <summary>
    /// log p(ids[t] | ids[..t]) for t = 1..n-1 (the first token has no prefix to be scored against), computed by
    /// teacher forcing with logits at every position.
    /// </summary>
    public static ScoreResult Score(LanguageModel model, int[] ids, CancellationToken cancellation = default)
    {
        if (ids.Length < 2) throw new UsageException("scoring needs at least two tokens");
        int vocab = model.Manifest.VocabSize;
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new UsageException($"token id {ids[i]} (position {i}) is outside the vocabulary 0..{vocab - 1}");
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 0, MaxLength = ids.Length });
        var result = new double[ids.Length - 1];
        var scratch = new float[vocab];
        for (int start = 0; start + 1 < ids.Length; start += WindowTokens)
        {
            cancellation.ThrowIfCancellationRequested();
            // Positions start..end-1 predict ids[start+1..end]; the last token needs no logits of its own.
            int end = Math.Min(start + WindowTokens, ids.Length - 1);
            try { generator.AppendTokens(ids.AsSpan(start, end - start), LogitsScope.All); }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e) { throw model.RunFailed(e, end); }
            var logits = generator.AllLogits;
            for (int t = start; t < end; t++)
            {
                var row = logits.Slice((t - start) * vocab, vocab);   // (t - start) < WindowTokens: no int overflow
                InvalidLogitsException.ThrowIfInvalid(row, t);
                result[t] = LogSoftmaxAt(row, ids[t + 1], scratch);
            }
        }
        return new ScoreResult(ids, result);
    }

    static double LogSoftmaxAt(ReadOnlySpan<float> row, int index, Span<float> scratch)
    {
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        double sum = TensorPrimitives.Sum<float>(scratch);
        return row[index] - max - Math.Log(sum);
    }
}
