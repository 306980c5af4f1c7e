namespace AdaRas.Probing.Metrics;

/// <summary>
/// A correctness classifier's predictions on one labelled set: p(correct) per question, the ROC curve, and the
/// report at the classifier's threshold (positive = is_good; "steer" = p(correct) &lt; threshold).
/// </summary>
internal sealed record ClassifierEvaluation(ClassifierReport Report, double[] PCorrect, bool[] Labels, RocPoint[] Roc)
{
    /// <summary>The ROC point the threshold picks: (false positive rate, true positive rate).</summary>
    public (double Fpr, double Tpr) OperatingPoint =>
        (Report.FalsePositives / (double)Math.Max(1, Report.FalsePositives + Report.TrueNegatives),
         Report.TruePositives / (double)Math.Max(1, Report.TruePositives + Report.FalseNegatives));

    public static ClassifierEvaluation From(string classifier, string split, double[] pCorrect, bool[] labels, double threshold) =>
        new(ClassifierReport.Evaluate(classifier, split, pCorrect, labels, threshold), pCorrect, labels,
            BinaryMetrics.RocCurve(pCorrect, labels));
}
