namespace AdaRas.Tests.Reference;

/// <summary>Greedy decoding with the reference model (the behaviour an engine's greedy generator must reproduce).</summary>
internal static class ReferenceGeneration
{
    /// <summary>
    /// Prefills <paramref name="prompt"/>, then appends the argmax token (lowest id on ties, like torch.argmax) up
    /// to <paramref name="maxNew"/> times. Returns the new tokens; a stop token ends decoding and is included, as
    /// Hugging Face's generate does. The same steering is applied to every call (by default at its last position).
    /// </summary>
    public static int[] Greedy(ReferenceModel model, int[] prompt, int maxNew, ReferenceSteering? steering = null, int[]? stopIds = null)
    {
        var session = model.NewSession();
        var generated = new List<int>();
        var logits = session.Forward(prompt, steering);
        while (generated.Count < maxNew)
        {
            int next = ArgMax(logits[^1]);
            generated.Add(next);
            if (stopIds is not null && stopIds.Contains(next)) break;
            if (generated.Count == maxNew) break;
            logits = session.Forward([next], steering);
        }
        return generated.ToArray();
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
