using System.Numerics;

namespace AdaRas.Probing.Gate;

/// <summary>
/// Adam with PyTorch's semantics (torch.optim.Adam, not AdamW): weight decay is L2 added to the gradient,
/// m = lerp(m, g, 1 - beta1), v = beta2 v + (1 - beta2) g^2,
/// param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). Betas (0.9, 0.999), eps 1e-8.
/// </summary>
internal sealed class AdamOptimizer
{
    const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
    readonly float[] _m, _v;
    readonly double _learningRate, _weightDecay;
    int _step;

    public AdamOptimizer(int parameterCount, double learningRate, double weightDecay)
    {
        _m = new float[parameterCount];
        _v = new float[parameterCount];
        _learningRate = learningRate;
        _weightDecay = weightDecay;
    }

    public void Step(Span<float> parameters, ReadOnlySpan<float> gradient)
    {
        _step++;
        float stepSize = (float)(_learningRate / (1 - Math.Pow(Beta1, _step)));
        float invBiasCorrection2Sqrt = (float)(1 / Math.Sqrt(1 - Math.Pow(Beta2, _step)));
        float wd = (float)_weightDecay, b1 = (float)(1 - Beta1), b2 = (float)Beta2, oneMinusB2 = (float)(1 - Beta2), eps = (float)Epsilon;
        var m = _m.AsSpan();
        var v = _v.AsSpan();
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            for (; i <= parameters.Length - w; i += w)
            {
                var p = new Vector<float>(parameters.Slice(i));
                var g = new Vector<float>(gradient.Slice(i)) + p * wd;
                var mi = new Vector<float>(m.Slice(i));
                var vi = new Vector<float>(v.Slice(i));
                mi += (g - mi) * b1;
                vi = vi * b2 + g * g * oneMinusB2;
                p -= mi * stepSize / (Vector.SquareRoot(vi) * invBiasCorrection2Sqrt + new Vector<float>(eps));
                mi.CopyTo(m.Slice(i));
                vi.CopyTo(v.Slice(i));
                p.CopyTo(parameters.Slice(i));
            }
        }
        for (; i < parameters.Length; i++)
        {
            float g = gradient[i] + parameters[i] * wd;
            m[i] += (g - m[i]) * b1;
            v[i] = v[i] * b2 + g * g * oneMinusB2;
            parameters[i] -= m[i] * stepSize / (MathF.Sqrt(v[i]) * invBiasCorrection2Sqrt + eps);
        }
    }
}
