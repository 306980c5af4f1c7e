namespace AdaRas.Tests.Support;

public static class Compare
{
    /// <summary>max |actual - expected| / max |expected|: the "relative error" the parity tests bound.</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"lengths differ: {actual.Length} vs {expected.Length}");
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)expected[i]));
        }
        return maxDiff / Math.Max(maxRef, 1e-30);
    }

    public static float[] Flatten(float[][] rows) => rows.SelectMany(r => r).ToArray();
}
