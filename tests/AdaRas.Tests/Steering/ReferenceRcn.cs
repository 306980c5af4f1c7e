namespace AdaRas.Tests.Steering;

/// <summary>
/// Plain C# reference for RCN identification and the steering scatter, written from the method's formulas
/// (docs/ARCHITECTURE.md, method steps 2-4) independently of the kernels, for the kernel-equals-reference tests.
/// </summary>
public static class ReferenceRcn
{
    /// <summary>Per-class sums of trajectory means, in double, added in the order trajectories arrive.</summary>
    public sealed class Accumulator(int neurons)
    {
        public readonly double[] CorrectSum = new double[neurons];
        public readonly double[] IncorrectSum = new double[neurons];
        public int Correct, Incorrect;

        public void AddMean(float[] mean, bool correct) => Add(mean, 1.0, correct);

        public void AddSum(float[] sum, long tokens, bool correct) => Add(sum, tokens, correct);

        void Add(float[] values, double divisor, bool correct)
        {
            var target = correct ? CorrectSum : IncorrectSum;
            for (int i = 0; i < values.Length; i++) target[i] += values[i] / divisor;
            if (correct) Correct++; else Incorrect++;
        }
    }

    public sealed record Stats(float[] MuPlus, float[] MuMinus, float[] Delta, float[] Relative);

    public static Stats Contrast(Accumulator a)
    {
        int n = a.CorrectSum.Length;
        var plus = new float[n];
        var minus = new float[n];
        var delta = new float[n];
        var r = new float[n];
        for (int i = 0; i < n; i++)
        {
            plus[i] = (float)(a.CorrectSum[i] / a.Correct);
            minus[i] = (float)(a.IncorrectSum[i] / a.Incorrect);
            delta[i] = plus[i] - minus[i];
            r[i] = Math.Abs(delta[i]) / (Math.Abs(plus[i]) + Math.Abs(minus[i]) + 1e-8f);
        }
        return new Stats(plus, minus, delta, r);
    }

    /// <summary>All neuron ids ordered by r descending, |delta| descending, id ascending (float comparisons).</summary>
    public static int[] RankOrder(float[] relative, float[] delta)
    {
        var ids = Enumerable.Range(0, relative.Length).ToArray();
        Array.Sort(ids, (x, y) =>
        {
            int c = relative[y].CompareTo(relative[x]);
            if (c != 0) return c;
            c = Math.Abs(delta[y]).CompareTo(Math.Abs(delta[x]));
            return c != 0 ? c : x.CompareTo(y);
        });
        return ids;
    }

    /// <summary>log(1 + y) accurate for tiny y (Goldberg's correction: the rounding of 1 + y is divided out).</summary>
    static double Log1p(double y)
    {
        double u = 1.0 + y;
        return u == 1.0 ? y : Math.Log(u) * y / (u - 1.0);
    }

    public static double Softplus(double x) => Math.Max(x, 0) + Log1p(Math.Exp(-Math.Abs(x)));

    /// <summary>Dense scale/shift for the selected neurons (method: 0 add, 1 blend, 2 softplus); identity elsewhere.</summary>
    public static (float[] Scale, float[] Shift) Scatter(int neurons, int[] ids, float[] delta, float[] muPlus, int method, float alpha)
    {
        var scale = Enumerable.Repeat(1f, neurons).ToArray();
        var shift = new float[neurons];
        for (int k = 0; k < ids.Length; k++)
        {
            switch (method)
            {
                case 0: shift[ids[k]] = alpha * delta[k]; break;
                case 1: scale[ids[k]] = 1f - alpha; shift[ids[k]] = alpha * muPlus[k]; break;
                case 2: shift[ids[k]] = alpha * (float)Softplus(muPlus[k]); break;
                default: throw new ArgumentOutOfRangeException(nameof(method));
            }
        }
        return (scale, shift);
    }
}
