namespace AdaRas.Probing.Metrics;

/// <summary>One point of a ROC curve: predicting "correct" when score >= Threshold gives these rates.</summary>
internal readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>Youden's J = TPR - FPR, maximised over the ROC thresholds.</summary>
internal readonly record struct YoudenPoint(double Threshold, double J, double TruePositiveRate, double FalsePositiveRate);

/// <summary>
/// Confusion counts with the positive class = is_good ("will be correct"); a prediction is positive when
/// score >= threshold. Undefined ratios (no predicted positives, say) are null rather than NaN so they survive JSON.
/// </summary>
internal readonly record struct ConfusionCounts(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives)
{
    public int Total => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;
    public double Accuracy => Total == 0 ? 0 : (double)(TruePositives + TrueNegatives) / Total;
    public double? Precision => Ratio(TruePositives, TruePositives + FalsePositives);
    public double? Recall => Ratio(TruePositives, TruePositives + FalseNegatives);
    public double? Specificity => Ratio(TrueNegatives, TrueNegatives + FalsePositives);
    static double? Ratio(int a, int b) => b == 0 ? null : (double)a / b;
}

/// <summary>
/// ROC, AUROC, Youden threshold and confusion counts for a binary correctness classifier.
/// Scores are "probability of correct"; labels are is_good. Ties are handled exactly: AUROC is the
/// Mann-Whitney statistic with midranks (a tied positive/negative pair counts one half), which equals the
/// trapezoidal area under the ROC curve built from distinct thresholds.
/// </summary>
internal static class BinaryMetrics
{
    public static double Auroc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> isGood)
    {
        var (pos, neg) = Check(scores, isGood, "AUROC");
        var order = SortedOrder(scores);
        // Sum of midranks of the positives over groups of tied scores.
        double rankSumPositives = 0;
        int i = 0;
        while (i < order.Length)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double midrank = (i + j) / 2.0 + 1; // 1-based ranks i+1..j+1
            for (int k = i; k <= j; k++)
                if (isGood[order[k]]) rankSumPositives += midrank;
            i = j + 1;
        }
        double u = rankSumPositives - pos * (pos + 1) / 2.0;
        return u / ((double)pos * neg);
    }

    /// <summary>
    /// ROC points at every distinct score, from the highest threshold down; the first point is (+inf, 0, 0)
    /// and the last reaches (1, 1). Every intermediate point is kept.
    /// </summary>
    public static RocPoint[] RocCurve(ReadOnlySpan<double> scores, ReadOnlySpan<bool> isGood)
    {
        var (pos, neg) = Check(scores, isGood, "ROC curve");
        var order = SortedOrder(scores);
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        int tp = 0, fp = 0;
        for (int k = order.Length - 1; k >= 0; k--)
        {
            if (isGood[order[k]]) tp++; else fp++;
            if (k == 0 || scores[order[k - 1]] != scores[order[k]])
                points.Add(new RocPoint(scores[order[k]], (double)fp / neg, (double)tp / pos));
        }
        return points.ToArray();
    }

    /// <summary>
    /// The threshold among the observed scores with the largest TPR - FPR. Ties in J go to the highest threshold
    /// (fewest questions called correct, so the gate errs toward steering); J is compared exactly in integers.
    /// </summary>
    public static YoudenPoint YoudenThreshold(ReadOnlySpan<double> scores, ReadOnlySpan<bool> isGood)
    {
        var (pos, neg) = Check(scores, isGood, "Youden threshold");
        var order = SortedOrder(scores);
        int tp = 0, fp = 0;
        long bestNumerator = long.MinValue; // J * pos * neg = tp*neg - fp*pos
        int bestTp = 0, bestFp = 0;
        double bestThreshold = double.NaN;
        for (int k = order.Length - 1; k >= 0; k--)
        {
            if (isGood[order[k]]) tp++; else fp++;
            if (k > 0 && scores[order[k - 1]] == scores[order[k]]) continue;
            long numerator = (long)tp * neg - (long)fp * pos;
            if (numerator > bestNumerator)
            {
                bestNumerator = numerator;
                bestThreshold = scores[order[k]];
                bestTp = tp;
                bestFp = fp;
            }
        }
        double tpr = (double)bestTp / pos, fpr = (double)bestFp / neg;
        return new YoudenPoint(bestThreshold, tpr - fpr, tpr, fpr);
    }

    public static ConfusionCounts Confusion(ReadOnlySpan<double> scores, ReadOnlySpan<bool> isGood, double threshold)
    {
        if (scores.Length != isGood.Length)
            throw new ArgumentException($"{scores.Length} scores but {isGood.Length} labels");
        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (double.IsNaN(scores[i])) throw new ArgumentException($"score {i} is NaN");
            bool predicted = scores[i] >= threshold;
            if (predicted) { if (isGood[i]) tp++; else fp++; }
            else { if (isGood[i]) fn++; else tn++; }
        }
        return new ConfusionCounts(tp, fp, tn, fn);
    }

    static (int Positives, int Negatives) Check(ReadOnlySpan<double> scores, ReadOnlySpan<bool> isGood, string what)
    {
        if (scores.Length != isGood.Length)
            throw new ArgumentException($"{what}: {scores.Length} scores but {isGood.Length} labels");
        int pos = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (double.IsNaN(scores[i])) throw new ArgumentException($"{what}: score {i} is NaN");
            if (isGood[i]) pos++;
        }
        StratifiedFolds.RequireBothClasses(pos, scores.Length - pos, what);
        return (pos, scores.Length - pos);
    }

    /// <summary>Indices sorted by ascending score (stable, so equal scores keep input order).</summary>
    static int[] SortedOrder(ReadOnlySpan<double> scores)
    {
        var keys = scores.ToArray();
        var order = Enumerable.Range(0, keys.Length).ToArray();
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : a.CompareTo(b));
        return order;
    }
}
