namespace AdaRas.Engine;

/// <summary>Log-probabilities of a token sequence under the model (teacher forcing).</summary>
public sealed record ScoreResult(int[] Ids, double[] LogProbs)
{
    /// <summary>Sum of the log-probabilities of every token after the first.</summary>
    public double Total => LogProbs.Sum();
}

public static class Scoring
{
    /// <summary>
    /// log p(ids[t] | ids[..t]) for t = 1..n-1 (the first token has no prefix to be scored against), computed in
    /// one teacher-forced pass with logits at every position.
    /// </summary>
    public static ScoreResult Score(LanguageModel model, int[] ids)
    {
        if (ids.Length < 2) throw new ArgumentException("scoring needs at least two tokens");
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 0, MaxLength = ids.Length });
        generator.AppendTokens(ids, LogitsScope.All);
        int vocab = model.Manifest.VocabSize;
        var logits = generator.AllLogits;
        var result = new double[ids.Length - 1];
        for (int t = 0; t + 1 < ids.Length; t++)
            result[t] = LogSoftmaxAt(logits.Slice(t * vocab, vocab), ids[t + 1]);
        return new ScoreResult(ids, result);
    }

    static double LogSoftmaxAt(ReadOnlySpan<float> row, int index)
    {
        double max = double.NegativeInfinity;
        foreach (var v in row) max = Math.Max(max, v);
        double sum = 0;
        foreach (var v in row) sum += Math.Exp(v - max);
        return row[index] - max - Math.Log(sum);
    }
}
