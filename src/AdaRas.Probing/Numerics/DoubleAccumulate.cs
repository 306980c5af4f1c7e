using System.Numerics;

namespace AdaRas.Probing.Numerics;

/// <summary>Float-to-double accumulation loops: sums over hundreds of questions stay exact enough for KKT checks.</summary>
internal static class DoubleAccumulate
{
    /// <summary>acc[j] += a * x[j], widened to double.</summary>
    public static void AddScaled(ReadOnlySpan<float> x, double a, Span<double> acc)
    {
        if (acc.Length < x.Length) throw new ArgumentException("accumulator shorter than input");
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var va = new Vector<double>(a);
            int w = Vector<float>.Count, h = Vector<double>.Count;
            for (; i <= x.Length - w; i += w)
            {
                Vector.Widen(new Vector<float>(x.Slice(i)), out var lo, out var hi);
                var a0 = new Vector<double>(acc.Slice(i));
                var a1 = new Vector<double>(acc.Slice(i + h));
                (a0 + lo * va).CopyTo(acc.Slice(i));
                (a1 + hi * va).CopyTo(acc.Slice(i + h));
            }
        }
        for (; i < x.Length; i++) acc[i] += a * x[i];
    }
}
