using System.Text.Json;
using AdaRas.Probing.Metrics;

namespace AdaRas.Tests.Probing;

public class MetricsTests
{
    [Test]
    public void AurocOfScikitLearnDocumentationExampleIs075()
    {
        // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75 in scikit-learn's documentation.
        Assert.That(BinaryMetrics.Auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), Is.EqualTo(0.75).Within(1e-15));
    }

    [Test]
    public void AurocEqualsMannWhitneyPairCountWithTies([Range(0, 9)] int seed)
    {
        var (scores, labels) = RandomScores(seed, 57, decimals: 1); // one decimal: many ties
        double pairs = 0, favourable = 0;
        for (int i = 0; i < scores.Length; i++)
            for (int j = 0; j < scores.Length; j++)
                if (labels[i] && !labels[j])
                {
                    pairs++;
                    favourable += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                }
        Assert.That(BinaryMetrics.Auroc(scores, labels), Is.EqualTo(favourable / pairs).Within(1e-12));
    }

    [Test]
    public void AurocEqualsTrapezoidalAreaUnderRocCurve([Range(0, 4)] int seed)
    {
        var (scores, labels) = RandomScores(seed, 80, decimals: 2);
        var roc = BinaryMetrics.RocCurve(scores, labels);
        Assert.That(roc[0].TruePositiveRate, Is.Zero);
        Assert.That(roc[^1].TruePositiveRate, Is.EqualTo(1));
        Assert.That(roc[^1].FalsePositiveRate, Is.EqualTo(1));
        double area = 0;
        for (int k = 1; k < roc.Length; k++)
        {
            Assert.That(roc[k].Threshold, Is.LessThan(roc[k - 1].Threshold));
            area += (roc[k].FalsePositiveRate - roc[k - 1].FalsePositiveRate) * (roc[k].TruePositiveRate + roc[k - 1].TruePositiveRate) / 2;
        }
        Assert.That(BinaryMetrics.Auroc(scores, labels), Is.EqualTo(area).Within(1e-12));
    }

    [Test]
    public void YoudenThresholdEqualsBruteForceSearch([Range(0, 19)] int seed)
    {
        var (scores, labels) = RandomScores(seed, 41, decimals: seed % 2 == 0 ? 1 : 3);
        int pos = labels.Count(l => l), neg = labels.Length - pos;
        double bestThreshold = double.NaN, bestJ = double.NegativeInfinity;
        foreach (double t in scores.Distinct().OrderByDescending(s => s))
        {
            int tp = 0, fp = 0;
            for (int i = 0; i < scores.Length; i++)
                if (scores[i] >= t) { if (labels[i]) tp++; else fp++; }
            double j = (double)tp / pos - (double)fp / neg;
            if (j > bestJ + 1e-12) { bestJ = j; bestThreshold = t; } // strictly better: ties keep the higher threshold
        }
        var y = BinaryMetrics.YoudenThreshold(scores, labels);
        Assert.That(y.Threshold, Is.EqualTo(bestThreshold));
        Assert.That(y.J, Is.EqualTo(bestJ).Within(1e-12));
        Assert.That(y.J, Is.EqualTo(y.TruePositiveRate - y.FalsePositiveRate).Within(1e-15));
    }

    [Test]
    public void ConfusionCountsAndRatesAtThreshold()
    {
        double[] scores = [0.9, 0.8, 0.3, 0.6, 0.2, 0.5];
        bool[] labels = [true, false, true, true, false, false];
        var c = BinaryMetrics.Confusion(scores, labels, 0.5); // predicted correct: 0.9, 0.8, 0.6, 0.5
        Assert.That(c, Is.EqualTo(new ConfusionCounts(TruePositives: 2, FalsePositives: 2, TrueNegatives: 1, FalseNegatives: 1)));
        Assert.That(c.Accuracy, Is.EqualTo(0.5));
        Assert.That(c.Precision, Is.EqualTo(0.5));
        Assert.That(c.Recall, Is.EqualTo(2.0 / 3));
        Assert.That(c.Specificity, Is.EqualTo(1.0 / 3));
        Assert.That(BinaryMetrics.Confusion(scores, labels, 0.95).Precision, Is.Null, "no predicted positives: precision undefined");
    }

    [Test]
    public void LabelsOfOneClassAreAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => BinaryMetrics.Auroc([0.1, 0.2, 0.3], [true, true, true]));
        Assert.That(e!.Message, Does.Contain("all 3 labels are correct"));
        Assert.Throws<ArgumentException>(() => BinaryMetrics.YoudenThreshold([0.1, 0.2], [false, false]));
        Assert.Throws<ArgumentException>(() => BinaryMetrics.Auroc([0.1, double.NaN], [false, true]));
    }

    [Test]
    public void ReportSerialisesToSnakeCaseJsonAndBack()
    {
        var report = ClassifierReport.Evaluate("attention-gate", "validation", [0.9, 0.2, 0.7, 0.4], [true, false, true, true], 0.5);
        Assert.That(report.Auroc, Is.EqualTo(1.0));
        Assert.That(report.SteerRate, Is.EqualTo(0.5));
        Assert.That(report.FalseNegatives, Is.EqualTo(1));
        var json = report.ToJson();
        Assert.That(json, Does.Contain("\"steer_rate\": 0.5"));
        Assert.That(json, Does.Contain("\"true_positives\": 2"));
        Assert.That(JsonSerializer.Deserialize<ClassifierReport>(json, ClassifierReport.JsonOptions), Is.EqualTo(report));
    }

    static (double[] Scores, bool[] Labels) RandomScores(int seed, int n, int decimals)
    {
        var rng = new Random(seed);
        var labels = new bool[n];
        var scores = new double[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i < 3 ? i % 2 == 0 : rng.NextDouble() < 0.4;
            scores[i] = Math.Round(Math.Clamp(rng.NextDouble() * 0.8 + (labels[i] ? 0.2 : 0), 0, 1), decimals);
        }
        return (scores, labels);
    }
}
