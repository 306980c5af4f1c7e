using AdaRas.Model;
using System.Diagnostics;
using AdaRas.Probing;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Gate;
using AdaRas.Probing.LinearProbe;

namespace AdaRas.Tests.Probing;

/// <summary>
/// Timings at the real scale (Qwen3-1.7B: 28 layers x 6144 neurons, ~700 questions). Explicit: they need ~1 GB and
/// minutes; run with
/// <c>dotnet test tests/AdaRas.Tests -c Release --filter "FullyQualifiedName~ProbingPerformanceTests"</c>.
/// </summary>
[Explicit("minutes and ~1 GB at the real scale"), Category("Performance")]
public class ProbingPerformanceTests
{
    [Test]
    public void FScoreOver172kFeaturesAnd700Questions()
    {
        const int features = 28 * 6144, questions = 700;
        var rng = new Random(1);
        // One random buffer; question q reads a window shifted by q*37 (distinct vectors, no 480 MB matrix).
        var pool = new float[features + questions * 37];
        for (int i = 0; i < pool.Length; i++) pool[i] = (float)(rng.NextDouble() * 2 - 1);
        var labels = Enumerable.Range(0, questions).Select(q => rng.NextDouble() < 0.6).ToArray();

        var sw = Stopwatch.StartNew();
        var anova = new AnovaFScore(features);
        for (int q = 0; q < questions; q++) anova.AddQuestion(pool.AsSpan(q * 37, features), labels[q]);
        var accumulate = sw.Elapsed;
        var scores = anova.ComputeScores();
        var compute = sw.Elapsed - accumulate;
        var top = AnovaFScore.SelectTop(scores, 8192);
        var total = sw.Elapsed;
        TestContext.Out.WriteLine(
            $"F-score {features} features x {questions} questions: accumulate {accumulate.TotalMilliseconds:F0} ms, " +
            $"scores {compute.TotalMilliseconds:F0} ms, top-8192 {(total - accumulate - compute).TotalMilliseconds:F0} ms, total {total.TotalMilliseconds:F0} ms");
        Assert.That(top, Has.Length.EqualTo(8192));
        Assert.That(scores.All(double.IsFinite));
    }

    [Test]
    public void GateTrainingAtN4096With700QuestionsOf60Tokens()
    {
        const int n = 4096, questions = 700, tokens = 60;
        ulong state = 0x9E3779B97F4A7C15UL;
        float Next() // xorshift: fast uniform in [-1, 1)
        {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            return (float)((state >> 40) * (2.0 / (1UL << 24)) - 1);
        }
        var all = new List<GateExample>();
        for (int q = 0; q < questions; q++)
        {
            bool good = q % 7 < 4;
            var values = new float[tokens * n];
            for (int i = 0; i < values.Length; i++) values[i] = Next();
            if (good)
            {
                int t = (int)((Next() + 1) * 0.5 * tokens) % tokens;
                for (int j = 0; j < 8; j++) values[t * n + j * 97] += 2.5f;
            }
            all.Add(new GateExample(new ActivationMatrix(values, tokens, n), good));
        }
        var train = all.Where((_, i) => i % 5 != 4).ToList();
        var validation = all.Where((_, i) => i % 5 == 4).ToList();
        var ids = Enumerable.Range(0, n).Select(j => j * 42).ToArray();
        var model = new ModelShape(28, 6144, "synthetic-qwen3-1.7b");

        var sw = Stopwatch.StartNew();
        var epochTimes = new List<double>();
        var result = AttentionGateTrainer.Train(model, ids, train, validation, new AttentionGateOptions { Seed = 1 }, e =>
        {
            epochTimes.Add(sw.Elapsed.TotalSeconds);
            TestContext.Out.WriteLine($"epoch {e.Epoch}: loss {e.TrainLoss:F4}, validation AUROC {e.ValidationAuroc:F4}, {sw.Elapsed.TotalSeconds:F1} s");
        });
        var perEpoch = epochTimes.Count > 1 ? (epochTimes[^1] - epochTimes[0]) / (epochTimes.Count - 1) : epochTimes[0];
        TestContext.Out.WriteLine(
            $"gate N={n}, {train.Count}+{validation.Count} questions x {tokens} tokens, batch 1: {result.History.Count} epochs " +
            $"(best {result.Gate.Training.BestEpoch}, AUROC {result.Gate.Training.BestValidationAuroc:F4}) in {sw.Elapsed.TotalSeconds:F1} s, " +
            $"{perEpoch:F2} s per epoch");
        Assert.That(result.Gate.Training.BestValidationAuroc, Is.GreaterThan(0.85));
    }

    [Test]
    public void L1ProbeOver172kFeaturesAnd700Questions()
    {
        const int features = 28 * 6144, questions = 700;
        int[] informative = [1234, 50_000, 99_999, 150_001, 171_000];
        var rng = new Random(2);
        var values = new float[(long)features * questions];
        ulong state = 0x2545F4914F6CDD1DUL;
        for (long i = 0; i < values.LongLength; i++)
        {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            values[i] = (float)((state >> 40) * (2.0 / (1UL << 24)) - 1); // uniform [-1, 1): std 0.577
        }
        var labels = new bool[questions];
        for (int q = 0; q < questions; q++)
        {
            double eta = 0;
            foreach (int j in informative) eta += 2.5 * values[(long)q * features + j];
            labels[q] = rng.NextDouble() < 1 / (1 + Math.Exp(-eta));
        }
        var model = new ModelShape(28, 6144, "synthetic-qwen3-1.7b");
        var sw = Stopwatch.StartNew();
        var result = L1ProbeTrainer.Train(model, new ActivationMatrix(values, questions, features), null, labels,
            new L1ProbeOptions { Folds = 5, LambdaCount = 50 });
        TestContext.Out.WriteLine(
            $"L1 probe {features} features x {questions} questions, 5 folds: {result.Path.Count} lambdas in {sw.Elapsed.TotalSeconds:F1} s; " +
            $"chosen lambda {result.Probe.Lambda:G3} with {result.Probe.NeuronIds.Count} neurons, CV AUROC {result.CrossValidated.Auroc:F3}");
        Assert.That(result.Probe.NeuronIds, Is.SupersetOf(informative));
    }
}
