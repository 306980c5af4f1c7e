using System.Numerics;
using System.Numerics.Tensors;

namespace AdaRas.Probing.Gate;

/// <summary>
/// The attention gate's network, forward and backward written out by hand (generic so that training runs in
/// float and the gradient check in double):
/// <code>
///   x~_t = (x_t - mean) / std                         standardised token features (T x N)
///   s_t  = tanh(w . x~_t + b)                         attention score per token
///   p    = softmax_t(s);   z = sum_t p_t x~_t         attention pooling
///   h    = relu(W1 z + b1) (*) dropout               hidden (256), inverted dropout when training
///   logit = W2 . h + b2
/// </code>
/// Standardisation is folded into the arithmetic instead of copying the tokens: because the softmax weights sum
/// to one, z = (sum_t p_t x_t - mean) / std, and w . x~_t = (w / std) . x_t - (w / std) . mean.
/// All parameters live in one flat array (the optimiser's view), in the order of <see cref="Groups"/>.
/// </summary>
internal sealed class AttentionGateNetwork<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public int FeatureCount { get; }
    public int HiddenSize { get; }
    /// <summary>Parameters: attention.weight [N], attention.bias [1], hidden.weight [H x N], hidden.bias [H], output.weight [H], output.bias [1].</summary>
    public T[] Parameters { get; }
    public T[] FeatureMean { get; }
    public T[] FeatureInvStd { get; }

    public static (string Name, int Length)[] Groups(int n, int h) =>
        [("attention.weight", n), ("attention.bias", 1), ("hidden.weight", h * n), ("hidden.bias", h), ("output.weight", h), ("output.bias", 1)];

    public static int ParameterCount(int n, int h) => n + 1 + h * n + h + h + 1;

    int OffAttnB => FeatureCount;
    int OffW1 => FeatureCount + 1;
    int OffB1 => OffW1 + HiddenSize * FeatureCount;
    int OffW2 => OffB1 + HiddenSize;
    int OffB2 => OffW2 + HiddenSize;

    public AttentionGateNetwork(int featureCount, int hiddenSize, T[]? parameters = null, T[]? mean = null, T[]? invStd = null)
    {
        FeatureCount = featureCount;
        HiddenSize = hiddenSize;
        Parameters = parameters ?? new T[ParameterCount(featureCount, hiddenSize)];
        if (Parameters.Length != ParameterCount(featureCount, hiddenSize)) throw new ArgumentException("parameter count mismatch");
        FeatureMean = mean ?? new T[featureCount];
        FeatureInvStd = invStd ?? Enumerable.Repeat(T.One, featureCount).ToArray();
    }

    public Span<T> Group(Span<T> flat, string name) => name switch
    {
        "attention.weight" => flat.Slice(0, FeatureCount),
        "attention.bias" => flat.Slice(OffAttnB, 1),
        "hidden.weight" => flat.Slice(OffW1, HiddenSize * FeatureCount),
        "hidden.bias" => flat.Slice(OffB1, HiddenSize),
        "output.weight" => flat.Slice(OffW2, HiddenSize),
        "output.bias" => flat.Slice(OffB2, 1),
        _ => throw new ArgumentException($"no parameter group '{name}'"),
    };

    /// <summary>
    /// PyTorch's default Linear initialisation (kaiming_uniform with a = sqrt(5), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    /// and the same bound for the bias), drawn in module order: attention, hidden, output.
    /// </summary>
    public void Initialise(Numerics.SeededRandom rng)
    {
        void Uniform(Span<T> target, int fanIn)
        {
            double bound = 1 / Math.Sqrt(fanIn);
            for (int i = 0; i < target.Length; i++) target[i] = T.CreateChecked((2 * rng.NextDouble() - 1) * bound);
        }
        var p = Parameters.AsSpan();
        Uniform(Group(p, "attention.weight"), FeatureCount);
        Uniform(Group(p, "attention.bias"), FeatureCount);
        Uniform(Group(p, "hidden.weight"), FeatureCount);
        Uniform(Group(p, "hidden.bias"), FeatureCount);
        Uniform(Group(p, "output.weight"), HiddenSize);
        Uniform(Group(p, "output.bias"), HiddenSize);
    }

    /// <summary>Intermediate values of one forward pass, kept for the backward pass.</summary>
    public sealed class Workspace
    {
        public T[] ScaledW = [], Scores = [], Attention = [], RawZ = [], Z = [], Hidden = [], HiddenIn = [], DropScale = [];
        public T[] GradZ = [], GradRawZ = [], GradScore = [], WeightedTokens = [];
        public T Logit;
        public int Tokens;

        internal void Ensure(int n, int h, int tokens)
        {
            if (ScaledW.Length != n)
            {
                ScaledW = new T[n]; RawZ = new T[n]; Z = new T[n]; GradZ = new T[n]; GradRawZ = new T[n]; WeightedTokens = new T[n];
            }
            if (Hidden.Length != h) { Hidden = new T[h]; HiddenIn = new T[h]; DropScale = new T[h]; }
            if (Scores.Length < tokens) { Scores = new T[tokens]; Attention = new T[tokens]; GradScore = new T[tokens]; }
            Tokens = tokens;
        }
    }

    /// <summary>
    /// Logit for one question, <paramref name="x"/> = tokens x N row-major. <paramref name="dropScale"/> holds, per
    /// hidden unit, 0 or 1/(1-p) when training (inverted dropout) and is empty at inference.
    /// </summary>
    public T Forward(ReadOnlySpan<T> x, int tokens, ReadOnlySpan<T> dropScale, Workspace ws)
    {
        int n = FeatureCount, h = HiddenSize;
        if (tokens <= 0 || x.Length != tokens * n) throw new ArgumentException($"expected {tokens} x {n} token features, got {x.Length} values");
        ws.Ensure(n, h, tokens);
        var p = Parameters.AsSpan();
        var w = p.Slice(0, n);

        // Attention scores with the standardisation folded in.
        TensorPrimitives.Multiply<T>(w, FeatureInvStd, ws.ScaledW);
        T bias = p[OffAttnB] - TensorPrimitives.Dot<T>(ws.ScaledW, FeatureMean);
        var scores = ws.Scores.AsSpan(0, tokens);
        var attention = ws.Attention.AsSpan(0, tokens);
        for (int t = 0; t < tokens; t++) scores[t] = T.Tanh(TensorPrimitives.Dot<T>(x.Slice(t * n, n), ws.ScaledW) + bias);
        TensorPrimitives.SoftMax<T>(scores, attention);

        // z = (sum_t p_t x_t - mean) / std
        var rawZ = ws.RawZ.AsSpan();
        rawZ.Clear();
        for (int t = 0; t < tokens; t++) TensorPrimitives.MultiplyAdd<T>(x.Slice(t * n, n), attention[t], rawZ, rawZ);
        TensorPrimitives.Subtract<T>(rawZ, FeatureMean, ws.Z);
        TensorPrimitives.Multiply<T>(ws.Z, FeatureInvStd, ws.Z);

        // hidden layer, dropout, output
        for (int k = 0; k < h; k++)
        {
            T u = TensorPrimitives.Dot<T>(p.Slice(OffW1 + k * n, n), ws.Z) + p[OffB1 + k];
            ws.HiddenIn[k] = u;
            T scale = dropScale.IsEmpty ? T.One : dropScale[k];
            ws.DropScale[k] = scale;
            ws.Hidden[k] = u > T.Zero ? u * scale : T.Zero;
        }
        ws.Logit = TensorPrimitives.Dot<T>(p.Slice(OffW2, h), ws.Hidden) + p[OffB2];
        return ws.Logit;
    }

    /// <summary>Adds d(loss)/d(parameters) to <paramref name="grad"/>, given d(loss)/d(logit) of the last Forward.</summary>
    public void Backward(ReadOnlySpan<T> x, T gradLogit, Workspace ws, Span<T> grad)
    {
        int n = FeatureCount, h = HiddenSize, tokens = ws.Tokens;
        var p = Parameters.AsSpan();

        grad[OffB2] += gradLogit;
        TensorPrimitives.MultiplyAdd<T>(ws.Hidden, gradLogit, grad.Slice(OffW2, h), grad.Slice(OffW2, h));

        var gradZ = ws.GradZ.AsSpan();
        gradZ.Clear();
        for (int k = 0; k < h; k++)
        {
            if (!(ws.HiddenIn[k] > T.Zero) || ws.DropScale[k] == T.Zero) continue; // relu'(u) = 0 for u <= 0
            T gu = gradLogit * p[OffW2 + k] * ws.DropScale[k];
            grad[OffB1 + k] += gu;
            var gradRow = grad.Slice(OffW1 + k * n, n);
            TensorPrimitives.MultiplyAdd<T>(ws.Z, gu, gradRow, gradRow);
            TensorPrimitives.MultiplyAdd<T>(p.Slice(OffW1 + k * n, n), gu, gradZ, gradZ);
        }

        // Back through the pooling: dL/dp_t = dz . x~_t; the constant -mean/std part cancels in the softmax backward.
        var gradRawZ = ws.GradRawZ.AsSpan();
        TensorPrimitives.Multiply<T>(gradZ, FeatureInvStd, gradRawZ);
        var attention = ws.Attention.AsSpan(0, tokens);
        var gradScore = ws.GradScore.AsSpan(0, tokens);
        T weighted = T.Zero;
        for (int t = 0; t < tokens; t++)
        {
            gradScore[t] = TensorPrimitives.Dot<T>(x.Slice(t * n, n), gradRawZ);
            weighted += attention[t] * gradScore[t];
        }
        // softmax backward then tanh backward: d a_t = p_t (g_t - sum_k p_k g_k) (1 - s_t^2)
        T sumGradA = T.Zero;
        var weightedTokens = ws.WeightedTokens.AsSpan();
        weightedTokens.Clear();
        for (int t = 0; t < tokens; t++)
        {
            T s = ws.Scores[t];
            T ga = attention[t] * (gradScore[t] - weighted) * (T.One - s * s);
            sumGradA += ga;
            TensorPrimitives.MultiplyAdd<T>(x.Slice(t * n, n), ga, weightedTokens, weightedTokens);
        }
        grad[OffAttnB] += sumGradA;
        // d w_j = (sum_t ga_t x_tj - mean_j sum_t ga_t) / std_j
        var gradW = grad.Slice(0, n);
        for (int j = 0; j < n; j++) gradW[j] += (weightedTokens[j] - FeatureMean[j] * sumGradA) * FeatureInvStd[j];
    }

    /// <summary>
    /// BCE-with-logits with pos_weight (PyTorch's definition) and its derivative in the logit:
    /// loss = -[pos_weight * y * log sigmoid(l) + (1 - y) * log(1 - sigmoid(l))].
    /// </summary>
    public static (double Loss, double GradLogit) BceWithLogits(double logit, bool isGood, double posWeight)
    {
        // log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l)
        double softplusNeg = Math.Max(-logit, 0) + Math.Log(1 + Math.Exp(-Math.Abs(logit)));
        double sigmoid = logit >= 0 ? 1 / (1 + Math.Exp(-logit)) : Math.Exp(logit) / (1 + Math.Exp(logit));
        return isGood
            ? (posWeight * softplusNeg, posWeight * (sigmoid - 1))
            : (softplusNeg + logit, sigmoid);
    }
}
