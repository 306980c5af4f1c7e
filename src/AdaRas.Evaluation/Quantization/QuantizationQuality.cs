using AdaRas.Engine;


namespace AdaRas.Evaluation.Quantization;

/// <summary>
/// How closely a quantized export follows its fp32 reference on real text. Teacher-forced over each text: the mean
/// and largest KL(reference || candidate) of the next-token distributions and the top-1 agreement; free-running:
/// greedy continuations of each text's prefix, the fraction of generated tokens equal to the reference's before
/// the first difference.
/// </summary>
internal sealed record QuantizationQuality(
    string Reference, string Candidate, int Texts, int Positions, double MeanKl, double MaxKl, double Top1Agreement,
    int GreedyTokens, double GreedyAgreement)
{
    public string Summary =>
        $"{Candidate} vs {Reference}: mean KL {MeanKl:G3} nats (max {MaxKl:G3}) over {Positions} positions of {Texts} texts; " +
        $"top-1 agreement {100 * Top1Agreement:F1}%; greedy agreement {100 * GreedyAgreement:F1}% of {GreedyTokens} generated tokens";

    /// <param name="texts">token ids of each text (teacher-forced whole; its first half is the greedy prompt)</param>
    /// <param name="greedyTokens">tokens generated per text for the free-running comparison (0 skips it)</param>
    public static QuantizationQuality Measure(AdaRas.Engine.LanguageModel reference, AdaRas.Engine.LanguageModel candidate, IReadOnlyList<int[]> texts, int greedyTokens = 32,
        string referenceName = "reference", string candidateName = "candidate", CancellationToken cancel = default)
    {
        if (reference.Manifest.VocabSize != candidate.Manifest.VocabSize)
            throw new ArgumentException($"vocabularies differ: {reference.Manifest.VocabSize} vs {candidate.Manifest.VocabSize}");
        if (texts.Count == 0) throw new ArgumentException("no texts to compare on");
        int vocab = reference.Manifest.VocabSize;
        double klSum = 0, klMax = 0;
        long positions = 0, agree = 0, generated = 0, sameGenerated = 0;
        foreach (var ids in texts)
        {
            cancel.ThrowIfCancellationRequested();
            if (ids.Length < 2) throw new ArgumentException("every text needs at least two tokens");
            var p = TeacherForced(reference, ids);
            var q = TeacherForced(candidate, ids);
            for (int t = 0; t < ids.Length; t++)
            {
                var (kl, sameTop) = Compare(p.AsSpan(t * vocab, vocab), q.AsSpan(t * vocab, vocab));
                klSum += kl;
                klMax = Math.Max(klMax, kl);
                if (sameTop) agree++;
                positions++;
            }
            if (greedyTokens > 0)
            {
                var prompt = ids[..Math.Max(1, ids.Length / 2)];
                var a = Greedy(reference, prompt, greedyTokens);
                var b = Greedy(candidate, prompt, greedyTokens);
                int same = 0;
                while (same < a.Length && same < b.Length && a[same] == b[same]) same++;
                sameGenerated += same;
                generated += a.Length;
            }
        }
        return new QuantizationQuality(referenceName, candidateName, texts.Count, (int)positions, klSum / positions, klMax,
            (double)agree / positions, (int)generated, generated == 0 ? double.NaN : (double)sameGenerated / generated);
    }

    static float[] TeacherForced(AdaRas.Engine.LanguageModel model, int[] ids)
    {
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 0, MaxLength = ids.Length });
        generator.AppendTokens(ids, LogitsScope.All);
        return generator.AllLogits.ToArray();
    }

    static int[] Greedy(AdaRas.Engine.LanguageModel model, int[] prompt, int tokens)
    {
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = tokens, MaxLength = prompt.Length + tokens, StopTokenIds = [] }) { ActivationTaps = false };
        generator.AppendTokens(prompt);
        while (!generator.IsDone) generator.GenerateNextToken();
        return generator.Sequence.Skip(prompt.Length).ToArray();
    }

    /// <summary>KL(softmax(p) || softmax(q)) in nats, and whether both rank the same token first.</summary>
    internal static (double Kl, bool SameTop) Compare(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double pMax = double.NegativeInfinity, qMax = double.NegativeInfinity;
        int pArg = 0, qArg = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] > pMax) { pMax = p[i]; pArg = i; }
            if (q[i] > qMax) { qMax = q[i]; qArg = i; }
        }
        double pSum = 0, qSum = 0;
        for (int i = 0; i < p.Length; i++) { pSum += Math.Exp(p[i] - pMax); qSum += Math.Exp(q[i] - qMax); }
        double pLog = pMax + Math.Log(pSum), qLog = qMax + Math.Log(qSum), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - pLog, lq = q[i] - qLog;
            kl += Math.Exp(lp) * (lp - lq);
        }
        return (Math.Max(kl, 0), pArg == qArg);
    }
}

/// <summary>Real text for <see cref="QuantizationQuality"/>: JSONL rows, each its question in the chat template followed by its completion, if any.</summary>
internal static class QualityTexts
{
    public static IReadOnlyList<int[]> Load(string jsonlPath, AdaRas.Engine.Tokenization.QwenTokenizer tokenizer, int limit, int maxTokens = 256)
    {
        var texts = new List<int[]>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(jsonlPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (texts.Count >= limit) break;
            System.Text.Json.Nodes.JsonNode? row;
            try { row = System.Text.Json.Nodes.JsonNode.Parse(line); }
            catch (System.Text.Json.JsonException e) { throw new AdaRas.Model.ModelFormatException($"{jsonlPath}:{lineNumber}", $"not JSON: {e.Message}"); }
            string question = row?["question"]?.GetValue<string>()
                ?? throw new AdaRas.Model.ModelFormatException($"{jsonlPath}:{lineNumber}", "no \"question\" string");
            string completion = row?["completion"]?.GetValue<string>() ?? "";
            var ids = tokenizer.Encode(AdaRas.Engine.Tokenization.Qwen3ChatTemplate.Render(question) + completion);
            texts.Add(ids.Length > maxTokens ? ids[..maxTokens] : ids);
        }
        if (texts.Count == 0) throw new AdaRas.Model.ModelFormatException(jsonlPath, "no rows");
        return texts;
    }
}
