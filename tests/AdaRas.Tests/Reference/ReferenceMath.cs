namespace AdaRas.Tests.Reference;

/// <summary>
/// The few numeric building blocks of Qwen3, written as plainly as possible. Everything accumulates in double
/// so the reference is an oracle for float32 graphs, not another float32 implementation with its own rounding.
/// </summary>
internal static class ReferenceMath
{
    /// <summary>y = W x for a Linear weight W stored [outputs, inputs] row-major (PyTorch's Linear: x @ W^T).</summary>
    public static double[] Linear(float[] weight, int outputs, int inputs, ReadOnlySpan<double> x)
    {
        if (x.Length != inputs) throw new ArgumentException($"input has {x.Length} values, the weight expects {inputs}");
        if (weight.Length != (long)outputs * inputs) throw new ArgumentException($"weight has {weight.Length} values, expected {outputs}x{inputs}");
        var y = new double[outputs];
        var input = x.ToArray();
        void Row(int o)
        {
            double sum = 0;
            int row = o * inputs;
            for (int i = 0; i < inputs; i++) sum += weight[row + i] * input[i];
            y[o] = sum;
        }
        // Rows are independent; only large products (real-shape lm_head, MLP) are worth spreading over cores.
        if ((long)outputs * inputs >= 1 << 20) Parallel.For(0, outputs, Row);
        else for (int o = 0; o < outputs; o++) Row(o);
        return y;
    }

    /// <summary>HF Qwen3RMSNorm: weight * x / sqrt(mean(x^2) + eps).</summary>
    public static double[] RmsNorm(ReadOnlySpan<double> x, ReadOnlySpan<float> weight, double eps)
    {
        if (weight.Length != x.Length) throw new ArgumentException($"norm weight has {weight.Length} values, input {x.Length}");
        double meanSquare = 0;
        foreach (var v in x) meanSquare += v * v;
        meanSquare /= x.Length;
        double inverse = 1.0 / Math.Sqrt(meanSquare + eps);
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = weight[i] * (x[i] * inverse);
        return y;
    }

    /// <summary>
    /// Rotary embedding in HF's rotate-half convention, in place on one head vector of even length d:
    /// for i &lt; d/2, angle = position * theta^(-2i/d), and the pair (x[i], x[i + d/2]) is rotated by it:
    /// x[i]' = x[i] cos - x[i+d/2] sin, x[i+d/2]' = x[i+d/2] cos + x[i] sin.
    /// </summary>
    public static void Rope(Span<double> head, int position, double theta)
    {
        int half = head.Length / 2;
        for (int i = 0; i < half; i++)
        {
            double inverseFrequency = Math.Pow(theta, -2.0 * i / head.Length);
            double angle = position * inverseFrequency;
            double cos = Math.Cos(angle), sin = Math.Sin(angle);
            double first = head[i], second = head[i + half];
            head[i] = first * cos - second * sin;
            head[i + half] = second * cos + first * sin;
        }
    }

    public static double Silu(double x) => x / (1.0 + Math.Exp(-x));

    /// <summary>Softmax in place, shifted by the maximum for range safety.</summary>
    public static void Softmax(Span<double> values)
    {
        double max = double.NegativeInfinity;
        foreach (var v in values) max = Math.Max(max, v);
        double sum = 0;
        for (int i = 0; i < values.Length; i++) { values[i] = Math.Exp(values[i] - max); sum += values[i]; }
        for (int i = 0; i < values.Length; i++) values[i] /= sum;
    }

    /// <summary>Grouped-query attention: query head h reads KV head h / (heads / kvHeads).</summary>
    public static int KvHeadOf(int queryHead, int heads, int kvHeads) => queryHead / (heads / kvHeads);
}
