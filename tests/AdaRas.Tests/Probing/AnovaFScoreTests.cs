using AdaRas.Probing;
using AdaRas.Probing.FeatureSelection;

namespace AdaRas.Tests.Probing;

public class AnovaFScoreTests
{
    [Test]
    public void MatchesTheDirectOneWayAnovaFormulaOnRandomData([Values(0, 1, 2)] int seed)
    {
        var rng = new Random(seed);
        int n = 71, p = 40;
        var labels = Enumerable.Range(0, n).Select(i => i < 2 ? i == 0 : rng.NextDouble() < 0.35).ToArray();
        var x = new float[n][];
        for (int i = 0; i < n; i++)
        {
            x[i] = new float[p];
            for (int j = 0; j < p; j++)
                // large offsets on some features: a naive sum-of-squares formula would lose digits here
                x[i][j] = (float)((j % 3 == 0 ? 1000 : 0) + (j % 7 + 1) * Gaussian(rng) + (labels[i] ? 0.05 * j : 0));
        }
        var anova = new AnovaFScore(p);
        for (int i = 0; i < n; i++) anova.AddQuestion(x[i], labels[i]);
        var scores = anova.ComputeScores();

        for (int j = 0; j < p; j++)
        {
            // F = [SSB / (k - 1)] / [SSW / (n - k)], k = 2, two-pass in double
            var g1 = Enumerable.Range(0, n).Where(i => labels[i]).Select(i => (double)x[i][j]).ToArray();
            var g0 = Enumerable.Range(0, n).Where(i => !labels[i]).Select(i => (double)x[i][j]).ToArray();
            double grand = g1.Concat(g0).Average(), m1 = g1.Average(), m0 = g0.Average();
            double ssb = g1.Length * (m1 - grand) * (m1 - grand) + g0.Length * (m0 - grand) * (m0 - grand);
            double ssw = g1.Sum(v => (v - m1) * (v - m1)) + g0.Sum(v => (v - m0) * (v - m0));
            double f = ssb / 1 / (ssw / (n - 2));
            Assert.That(scores[j], Is.EqualTo(f).Within(1e-8).Percent, $"feature {j}");
        }
    }

    [Test]
    public void ReproducesThePublishedAnovaOfStudentsSleepData()
    {
        // R's `sleep` data (Cushny & Peebles 1905, used by Student 1908): extra hours of sleep under two drugs.
        // anova(lm(extra ~ group, sleep)) publishes F = 3.4626 on (1, 18) df; equivalently the pooled two-sample
        // t.test(extra ~ group, sleep, var.equal = TRUE) gives t = -1.8608, and F = t^2.
        float[] drug1 = [0.7f, -1.6f, -0.2f, -1.2f, -0.1f, 3.4f, 3.7f, 0.8f, 0.0f, 2.0f];
        float[] drug2 = [1.9f, 0.8f, 1.1f, 0.1f, -0.1f, 4.4f, 5.5f, 1.6f, 4.6f, 3.4f];
        var anova = new AnovaFScore(1);
        foreach (var v in drug1) anova.AddQuestion([v], isGood: false);
        foreach (var v in drug2) anova.AddQuestion([v], isGood: true);
        double f = anova.ComputeScores()[0];
        Assert.That(f, Is.EqualTo(3.4626).Within(0.00005));
        Assert.That(Math.Sqrt(f), Is.EqualTo(1.8608).Within(0.00005));
    }

    [Test]
    public void ConstantFeatureScoresZeroAndPerfectSeparatorScoresInfinity()
    {
        var anova = new AnovaFScore(3);
        anova.AddQuestion([5f, 1f, 2f], true);
        anova.AddQuestion([5f, 1f, 3f], true);
        anova.AddQuestion([5f, 0f, 2f], false);
        anova.AddQuestion([5f, 0f, 4f], false);
        var s = anova.ComputeScores();
        Assert.That(s[0], Is.EqualTo(0), "constant feature: 0, not NaN");
        Assert.That(s[1], Is.EqualTo(double.PositiveInfinity), "each class constant, classes differ");
        Assert.That(double.IsFinite(s[2]) && s[2] >= 0);
    }

    [Test]
    public void PoolingTokensGivesTheSameScoresAsAddingTheirMean()
    {
        var rng = new Random(5);
        int p = 12;
        var fromTokens = new AnovaFScore(p);
        var fromMeans = new AnovaFScore(p);
        for (int q = 0; q < 20; q++)
        {
            int tokens = 1 + rng.Next(9);
            var values = Enumerable.Range(0, tokens * p).Select(_ => (float)Gaussian(rng)).ToArray();
            bool good = q % 3 == 0;
            fromTokens.AddQuestionTokens(new ActivationMatrix(values, tokens, p), good);
            var mean = Enumerable.Range(0, p).Select(j => (float)(Enumerable.Range(0, tokens).Sum(t => (double)values[t * p + j]) / tokens)).ToArray();
            fromMeans.AddQuestion(mean, good);
        }
        Assert.That(fromTokens.ComputeScores(), Is.EqualTo(fromMeans.ComputeScores()).Within(1e-12));
    }

    [Test]
    public void SelectTopBreaksTiesByLowerIndexAndReturnsAscendingIds()
    {
        double[] scores = [5, 7, 7, 1, 7, double.PositiveInfinity, 0];
        Assert.That(AnovaFScore.SelectTop(scores, 1), Is.EqualTo(new[] { 5 }));
        Assert.That(AnovaFScore.SelectTop(scores, 3), Is.EqualTo(new[] { 1, 2, 5 }));
        Assert.That(AnovaFScore.SelectTop(scores, 5), Is.EqualTo(new[] { 0, 1, 2, 4, 5 }));
        Assert.Throws<ArgumentException>(() => AnovaFScore.SelectTop(scores, 8));
    }

    [Test]
    public void BadInputIsAClearError()
    {
        var anova = new AnovaFScore(4);
        anova.AddQuestion([1, 2, 3, 4], true);
        var nan = Assert.Throws<ArgumentException>(() => anova.AddQuestion([1, 2, 3, float.NaN], false));
        Assert.That(nan!.Message, Does.Contain("question 1").And.Contain("feature 3").And.Contain("NaN"));
        Assert.Throws<ArgumentException>(() => anova.AddQuestion([1, 2, 3], false));
        anova.AddQuestion([1, 2, 3, 5], true);
        anova.AddQuestion([1, 2, 3, 6], true);
        var oneClass = Assert.Throws<ArgumentException>(() => anova.ComputeScores());
        Assert.That(oneClass!.Message, Does.Contain("all 3 labels are correct"));
    }

    internal static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
