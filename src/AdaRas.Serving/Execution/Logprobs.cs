using AdaRas.Engine.Tokenization;

namespace AdaRas.Serving.Execution;

static class Logprobs
{
    /// <summary>log softmax(<paramref name="logits"/>)[id] and the <paramref name="top"/> most likely tokens (ties by id).</summary>
    public static TokenLogprob Of(QwenTokenizer tokenizer, ReadOnlySpan<float> logits, int id, int top)
    {
        double max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (var v in logits) sum += Math.Exp(v - max);
        double logZ = max + Math.Log(sum);
        var best = new List<KeyValuePair<string, double>>(top);
        if (top > 0)
        {
            // Partial selection: keep the top n indices in a small sorted list.
            var ids = new List<int>(top + 1);
            for (int i = 0; i < logits.Length; i++)
            {
                if (ids.Count == top && logits[i] <= logits[ids[^1]]) continue;
                int at = ids.Count;
                while (at > 0 && logits[ids[at - 1]] < logits[i]) at--;
                ids.Insert(at, i);
                if (ids.Count > top) ids.RemoveAt(top);
            }
            foreach (int i in ids) best.Add(new(Text(tokenizer, i), logits[i] - logZ));
        }
        return new TokenLogprob(id, Text(tokenizer, id), logits[id] - logZ, best);
    }

    /// <summary>A token's own text (special tokens kept), as OpenAI's <c>tokens</c> and <c>top_logprobs</c> show it.</summary>
    public static string Text(QwenTokenizer tokenizer, int id) => tokenizer.Decode([id]);
}
