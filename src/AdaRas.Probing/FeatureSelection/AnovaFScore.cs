namespace AdaRas.Probing.FeatureSelection;

/// <summary>
/// One-way ANOVA F statistic per feature for two groups (is_good true / false), the same definition as
/// scikit-learn's <c>f_classif</c>: F = (SSB / (k-1)) / (SSW / (n-k)) with k = 2. Features are token-mean-pooled
/// question vectors, streamed one question at a time: only per-class running means and sums of squared
/// deviations are kept (Welford's update, numerically stable), never a questions x features matrix.
/// A constant feature scores 0 (scikit-learn gives NaN); a feature whose groups are each constant but differ
/// scores +infinity (a perfect separator, ranked first).
/// </summary>
internal sealed class AnovaFScore
{
    readonly double[] _mean0, _m2_0, _mean1, _m2_1; // class 0 = incorrect, class 1 = correct
    double[]? _pool;

    public int FeatureCount { get; }
    public int CorrectCount { get; private set; }
    public int IncorrectCount { get; private set; }
    public int QuestionCount => CorrectCount + IncorrectCount;

    public AnovaFScore(int featureCount)
    {
        if (featureCount <= 0) throw new ArgumentException($"feature count must be positive, got {featureCount}");
        FeatureCount = featureCount;
        _mean0 = new double[featureCount]; _m2_0 = new double[featureCount];
        _mean1 = new double[featureCount]; _m2_1 = new double[featureCount];
    }

    /// <summary>Adds one question's token-mean-pooled feature vector (length <see cref="FeatureCount"/>).</summary>
    public void AddQuestion(ReadOnlySpan<float> pooledFeatures, bool isGood)
    {
        if (pooledFeatures.Length != FeatureCount)
            throw new ArgumentException($"question {QuestionCount}: {pooledFeatures.Length} features, expected {FeatureCount}");
        int bad = ActivationMatrix.FirstNonFinite(pooledFeatures);
        if (bad >= 0)
            throw new ArgumentException($"question {QuestionCount}: feature {bad} is {pooledFeatures[bad]} (activations must be finite)");
        var (mean, m2, count) = isGood ? (_mean1, _m2_1, ++CorrectCount) : (_mean0, _m2_0, ++IncorrectCount);
        double inv = 1.0 / count;
        for (int j = 0; j < pooledFeatures.Length; j++)
        {
            double x = pooledFeatures[j];
            double d = x - mean[j];
            mean[j] += d * inv;
            m2[j] += d * (x - mean[j]);
        }
    }

    /// <summary>Adds one question given its per-token features (T x FeatureCount, row-major); pools the mean here.</summary>
    public void AddQuestionTokens(ActivationMatrix tokens, bool isGood)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Columns != FeatureCount)
            throw new ArgumentException($"question {QuestionCount}: {tokens.Columns} features per token, expected {FeatureCount}");
        if (tokens.Rows == 0) throw new ArgumentException($"question {QuestionCount}: no tokens");
        tokens.EnsureFinite($"question {QuestionCount}");
        _pool ??= new double[FeatureCount];
        Array.Clear(_pool);
        for (int t = 0; t < tokens.Rows; t++)
            Numerics.DoubleAccumulate.AddScaled(tokens.Row(t), 1.0, _pool);
        var pooled = new float[FeatureCount];
        for (int j = 0; j < FeatureCount; j++) pooled[j] = (float)(_pool[j] / tokens.Rows);
        AddQuestion(pooled, isGood);
    }

    /// <summary>F score for every feature. Needs at least one question of each class and three questions in all.</summary>
    public double[] ComputeScores()
    {
        StratifiedFolds.RequireBothClasses(CorrectCount, IncorrectCount, "ANOVA F-score labels");
        int n = QuestionCount;
        if (n < 3) throw new InvalidOperationException($"ANOVA F needs at least 3 questions (n - 2 degrees of freedom), got {n}");
        double n0 = IncorrectCount, n1 = CorrectCount;
        double between = n0 * n1 / n; // SSB = n0 n1 / n * (mean1 - mean0)^2
        var scores = new double[FeatureCount];
        for (int j = 0; j < FeatureCount; j++)
        {
            double diff = _mean1[j] - _mean0[j];
            double ssb = between * diff * diff;
            double ssw = _m2_0[j] + _m2_1[j];
            scores[j] = ssb == 0 ? 0 : ssw == 0 ? double.PositiveInfinity : ssb / (ssw / (n - 2));
        }
        return scores;
    }

    /// <summary>
    /// The <paramref name="count"/> features with the highest scores (ties: lower feature index first),
    /// returned sorted ascending by index, as the graph gathers them.
    /// </summary>
    public static int[] SelectTop(ReadOnlySpan<double> scores, int count)
    {
        if (count <= 0 || count > scores.Length)
            throw new ArgumentException($"cannot select {count} features out of {scores.Length}");
        for (int j = 0; j < scores.Length; j++)
            if (double.IsNaN(scores[j])) throw new ArgumentException($"score of feature {j} is NaN");
        var keys = scores.ToArray();
        var order = Enumerable.Range(0, keys.Length).ToArray();
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        var top = order[..count];
        Array.Sort(top);
        return top;
    }
}
