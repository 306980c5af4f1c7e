using ILGPU;

namespace AdaRas.Steering.Kernels;

/// <summary>
/// The ILGPU kernels behind RCN identification and steering, plain C# that ILGPU compiles for its CPU accelerator
/// and to PTX for CUDA. Each is a grid-stride loop over neurons (or selected neurons), launched with
/// <see cref="KernelLaunch.For"/>: on CUDA that fills the GPU; on the CPU accelerator, which simulates GPU
/// thread groups with OS threads, it keeps to a handful of groups that loop, instead of one simulated group
/// per 16 neurons (which measured about 1 s per 172k-neuron kernel).
/// </summary>
internal static class NeuronKernels
{
    static int Stride => Grid.DimX * Group.DimX;

    /// <summary>Exponent bits all set: the float is NaN or +-infinity.</summary>
    const uint ExponentMask = 0x7F800000u;

    /// <summary>Sets <c>layerFlags[layer] = 1</c> for every layer holding a NaN or infinite value.</summary>
    public static void FlagNonFinite(ArrayView<float> values, int intermediateSize, ArrayView<int> layerFlags)
    {
        for (int i = Grid.GlobalIndex.X; i < values.IntLength; i += Stride)
            if ((Interop.FloatAsInt(values[i]) & ExponentMask) == ExponentMask)
                layerFlags[i / intermediateSize] = 1;
    }

    /// <summary>Adds one trajectory's mean (<paramref name="values"/> / <paramref name="divisor"/>) into a class sum.</summary>
    public static void Accumulate(ArrayView<float> values, double divisor, ArrayView<double> classSum)
    {
        for (int i = Grid.GlobalIndex.X; i < classSum.IntLength; i += Stride)
            classSum[i] += values[i] / divisor;
    }

    /// <summary>
    /// Class means, their difference and the polarity-aware ratio, plus the 64-bit ranking key and the neuron id
    /// that the radix sort orders.
    /// </summary>
    public static void Contrast(
        ArrayView<double> correctSum, ArrayView<double> incorrectSum, double correctCount, double incorrectCount,
        ArrayView<float> muPlus, ArrayView<float> muMinus, ArrayView<float> delta, ArrayView<float> relative,
        ArrayView<ulong> keys, ArrayView<int> ids)
    {
        for (int i = Grid.GlobalIndex.X; i < correctSum.IntLength; i += Stride)
        {
            float plus = (float)(correctSum[i] / correctCount);
            float minus = (float)(incorrectSum[i] / incorrectCount);
            float d = plus - minus;
            float absDelta = Math.Abs(d);
            float r = absDelta / (Math.Abs(plus) + Math.Abs(minus) + RankKey.Epsilon);
            muPlus[i] = plus;
            muMinus[i] = minus;
            delta[i] = d;
            relative[i] = r;
            keys[i] = RankKey.Of(r, absDelta);
            ids[i] = i;
        }
    }

    /// <summary>Copies the statistics of the first <c>k</c> ranked neurons into compact arrays.</summary>
    public static void Gather(
        ArrayView<int> ids,
        ArrayView<float> muPlus, ArrayView<float> muMinus, ArrayView<float> delta, ArrayView<float> relative,
        ArrayView<float> outMuPlus, ArrayView<float> outMuMinus, ArrayView<float> outDelta, ArrayView<float> outRelative)
    {
        for (int k = Grid.GlobalIndex.X; k < ids.IntLength; k += Stride)
        {
            int id = ids[k];
            outMuPlus[k] = muPlus[id];
            outMuMinus[k] = muMinus[id];
            outDelta[k] = delta[id];
            outRelative[k] = relative[id];
        }
    }

    /// <summary>Identity affine map: scale 1, shift 0.</summary>
    public static void FillIdentity(ArrayView<float> scale, ArrayView<float> shift)
    {
        for (int i = Grid.GlobalIndex.X; i < scale.IntLength; i += Stride)
        {
            scale[i] = 1f;
            shift[i] = 0f;
        }
    }

    /// <summary>
    /// Writes the affine map <c>a' = a * scale + shift</c> of one selected neuron for a steering method
    /// (values of <see cref="Plans.SteeringMethod"/>).
    /// </summary>
    public static void Scatter(
        ArrayView<int> ids, ArrayView<float> delta, ArrayView<float> muPlus, int method, float alpha,
        ArrayView<float> scale, ArrayView<float> shift)
    {
        for (int k = Grid.GlobalIndex.X; k < ids.IntLength; k += Stride)
        {
            int id = ids[k];
            if (method == (int)Plans.SteeringMethod.SteeringAdd)
            {
                scale[id] = 1f;
                shift[id] = alpha * delta[k];
            }
            else if (method == (int)Plans.SteeringMethod.LinearBlend)
            {
                scale[id] = 1f - alpha;
                shift[id] = alpha * muPlus[k];
            }
            else
            {
                scale[id] = 1f;
                shift[id] = alpha * StableSoftplus(muPlus[k]);
            }
        }
    }

    /// <summary>
    /// softplus(x) = log(1 + e^x) without overflow for large x or loss of the tiny result for very negative x:
    /// max(x, 0) + log1p(e^-|x|), evaluated in double, with log1p's series where 1 + y would round.
    /// </summary>
    public static float StableSoftplus(float x)
    {
        double ax = Math.Abs((double)x);
        double y = Math.Exp(-ax);
        double log1p = y < 1e-4 ? y * (1.0 - y * (0.5 - y / 3.0)) : Math.Log(1.0 + y);
        return (float)(Math.Max((double)x, 0.0) + log1p);
    }
}

/// <summary>
/// The 64-bit sort key of a neuron: the IEEE bits of r in the high word, of |delta| in the low word. For
/// non-negative floats (including +0, subnormals and +infinity) the bit pattern read as an unsigned integer
/// is monotonic in the value, so a descending unsigned sort of the key orders by r, then |delta|.
/// A stable sort of ids given in ascending order then breaks full ties by id ascending.
/// </summary>
internal static class RankKey
{
    /// <summary>The paper's epsilon in r = |delta| / (|mu+| + |mu-| + eps).</summary>
    public const float Epsilon = 1e-8f;

    public static ulong Of(float relative, float absDelta) =>
        ((ulong)Interop.FloatAsInt(relative) << 32) | Interop.FloatAsInt(absDelta);
}

/// <summary>Launch configurations for the grid-stride kernels of <see cref="NeuronKernels"/>.</summary>
internal static class KernelLaunch
{
    /// <summary>As many groups of the accelerator's widest group as <paramref name="elements"/> can use.</summary>
    public static KernelConfig For(ILGPU.Runtime.Accelerator accelerator, long elements)
    {
        var (groups, groupSize) = ILGPU.Algorithms.GridExtensions.ComputeGridStrideLoopExtent(accelerator, Math.Max(1, elements));
        return new KernelConfig(groups, groupSize);
    }
}
