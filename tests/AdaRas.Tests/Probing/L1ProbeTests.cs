using AdaRas.Model;
using AdaRas.Probing;
using AdaRas.Probing.LinearProbe;

namespace AdaRas.Tests.Probing;

public class L1ProbeTests
{
    static readonly ModelShape Model = new(3, 40, "test-model-a"); // 120 neurons
    static readonly int[] Informative = [7, 51, 98];
    static readonly double[] PlantedWeights = [1.6, -1.4, 1.2]; // on standardised features

    /// <summary>Features with varied offsets and scales; labels from a logistic model on three of them.</summary>
    static (ActivationMatrix X, bool[] Labels) PlantedData(int n, int p, int seed, int[] informative, double[] weights)
    {
        var rng = new Random(seed);
        var offset = Enumerable.Range(0, p).Select(j => (j % 5) * 3.0 - 4).ToArray();
        var scale = Enumerable.Range(0, p).Select(j => 0.2 + (j % 4)).ToArray();
        var values = new float[n * p];
        var labels = new bool[n];
        for (int i = 0; i < n; i++)
        {
            double eta = 0.3;
            for (int j = 0; j < p; j++)
            {
                double z = AnovaFScoreTests.Gaussian(rng);
                values[i * p + j] = (float)(offset[j] + scale[j] * z);
                int k = Array.IndexOf(informative, j);
                if (k >= 0) eta += weights[k] * z;
            }
            labels[i] = rng.NextDouble() < 1 / (1 + Math.Exp(-eta));
        }
        return (new ActivationMatrix(values, n, p), labels);
    }

    [Test]
    public void RecoversAPlantedSparseSignal()
    {
        var (x, labels) = PlantedData(400, Model.NeuronCount, seed: 11, Informative, PlantedWeights);
        var result = L1ProbeTrainer.Train(Model, x, null, labels, new L1ProbeOptions { Folds = 5, Seed = 3, LambdaCount = 30 });
        var probe = result.Probe;

        Assert.That(probe.NeuronIds, Is.SupersetOf(Informative), "every informative neuron is selected");
        // In standardised units the informative weights dominate every noise weight, with the planted signs.
        var std = Enumerable.Range(0, x.Columns).Select(j => StdOf(x, j)).ToArray();
        var strength = probe.NeuronIds.Select((id, k) => (id, w: probe.Weights[k] * std[id])).ToArray();
        double weakestInformative = strength.Where(s => Informative.Contains(s.id)).Min(s => Math.Abs(s.w));
        double strongestNoise = strength.Where(s => !Informative.Contains(s.id)).Select(s => Math.Abs(s.w)).DefaultIfEmpty(0).Max();
        Assert.That(strongestNoise, Is.LessThan(weakestInformative / 3));
        for (int k = 0; k < Informative.Length; k++)
            Assert.That(Math.Sign(strength.Single(s => s.id == Informative[k]).w), Is.EqualTo(Math.Sign(PlantedWeights[k])));
        Assert.That(probe.NeuronIds.Count, Is.LessThan(20), "the probe stays sparse");
        Assert.That(probe.NeuronIds, Is.Ordered.Ascending);

        Assert.That(result.CrossValidated.Auroc, Is.GreaterThan(0.8));
        Assert.That(result.CrossValidated.Questions, Is.EqualTo(400));
        Assert.That(result.Path[0].NonZeroCount, Is.Zero, "lambda_max gives the empty model");
        Assert.That(result.Path.Select(pt => pt.Lambda), Is.Ordered.Descending);
        // One-standard-error rule: the largest lambda within one standard error of the minimum deviance.
        var best = result.Path.MinBy(pt => pt.CrossValidatedDeviance)!;
        double limit = best.CrossValidatedDeviance + best.CrossValidatedDevianceError;
        Assert.That(best.CrossValidatedDevianceError, Is.GreaterThan(0));
        Assert.That(result.Path[result.ChosenIndex].CrossValidatedDeviance, Is.LessThanOrEqualTo(limit));
        Assert.That(result.Path.Take(result.ChosenIndex).All(pt => pt.CrossValidatedDeviance > limit));
        Assert.That(result.Probe.Lambda, Is.EqualTo(result.Path[result.ChosenIndex].Lambda));
    }

    [TestCase(300, 40, 1)]   // more questions than features
    [TestCase(60, 500, 2)]   // far more features than questions (the real case: ~700 x 172k)
    public void EveryFitOnThePathSatisfiesTheKktConditions(int n, int p, int seed)
    {
        var (x, labels) = PlantedData(n, p, seed, [1, 5, 9], [1.2, -1.0, 0.8]);
        var rows = Enumerable.Range(0, n).ToArray();
        var solver = new L1LogisticRegression(x, labels, rows, tolerance: 1e-8);
        var lambdas = L1LogisticRegression.LambdaPath(solver.LambdaMax, 15, n > p ? 1e-3 : 0.05);
        var fits = solver.FitPath(lambdas);
        Assert.That(fits.Count, Is.GreaterThan(5));
        Assert.That(fits.Any(f => f.Columns.Length > 3), "the path reaches dense fits too");

        // Independent check in original units: gradient of the mean logistic loss, scaled by each feature's
        // population std (the penalty is on standardised weights), against lambda.
        var std = Enumerable.Range(0, p).Select(j => StdOf(x, j)).ToArray();
        foreach (var fit in fits)
        {
            Assert.That(fit.Converged, $"lambda {fit.Lambda}");
            var (weights, intercept) = L1ProbeTrainer.OriginalScale(fit, solver);
            var w = new double[p];
            foreach (var (column, weight) in weights) w[column] = weight;
            var gradient = new double[p];
            double gradIntercept = 0;
            for (int i = 0; i < n; i++)
            {
                double eta = intercept;
                for (int j = 0; j < p; j++) eta += w[j] * x.Values[i * p + j];
                double r = 1 / (1 + Math.Exp(-eta)) - (labels[i] ? 1 : 0);
                gradIntercept += r / n;
                for (int j = 0; j < p; j++) gradient[j] += r * x.Values[i * p + j] / n;
            }
            Assert.That(Math.Abs(gradIntercept), Is.LessThan(1e-6), "intercept is unpenalised: zero gradient");
            for (int j = 0; j < p; j++)
            {
                double g = gradient[j] / std[j]; // dL/dw~_j = dL/dw_j / std_j, as w = w~ / std
                if (w[j] == 0)
                    Assert.That(Math.Abs(g), Is.LessThanOrEqualTo(fit.Lambda + 1e-6), $"zero weight {j} at lambda {fit.Lambda}");
                else
                    Assert.That(g + fit.Lambda * Math.Sign(w[j]), Is.EqualTo(0).Within(1e-6), $"non-zero weight {j} at lambda {fit.Lambda}");
            }
        }
    }

    [Test]
    public void SavedProbeLoadsWithIdenticalDecisions()
    {
        var (x, labels) = PlantedData(150, Model.NeuronCount, seed: 4, Informative, PlantedWeights);
        var probe = L1ProbeTrainer.Train(Model, x, null, labels, new L1ProbeOptions { Folds = 3, LambdaCount = 20 }).Probe;
        var path = TempFile("probe.bin");
        probe.Save(path);
        var loaded = L1Probe.Load(path, Model);
        Assert.That(loaded.NeuronIds, Is.EqualTo(probe.NeuronIds));
        Assert.That(loaded.Weights, Is.EqualTo(probe.Weights));
        Assert.That(loaded.Threshold, Is.EqualTo(probe.Threshold));
        Assert.That(loaded.Training, Is.EqualTo(probe.Training));
        int steered = 0;
        for (int i = 0; i < x.Rows; i++)
        {
            var row = x.Row(i);
            Assert.That(loaded.PredictCorrect(row), Is.EqualTo(probe.PredictCorrect(row)));
            Assert.That(loaded.ShouldSteer(row), Is.EqualTo(probe.PredictCorrect(row) < probe.Threshold));
            steered += loaded.ShouldSteer(row) ? 1 : 0;
        }
        Assert.That(steered, Is.InRange(1, x.Rows - 1), "the probe's decision depends on the activations");
    }

    [Test]
    public void ProbeOnSelectedNeuronIdsReadsThoseNeuronsFromTheFullVector()
    {
        // Columns are a subset of neurons; the probe must index the full last-token vector by global id.
        int[] ids = [3, 7, 20, 51, 60, 98, 110];
        var (full, labels) = PlantedData(200, Model.NeuronCount, seed: 8, Informative, PlantedWeights);
        var sub = new float[200 * ids.Length];
        for (int i = 0; i < 200; i++)
            for (int k = 0; k < ids.Length; k++) sub[i * ids.Length + k] = full.Values[i * full.Columns + ids[k]];
        var probe = L1ProbeTrainer.Train(Model, new ActivationMatrix(sub, 200, ids.Length), ids, labels).Probe;
        Assert.That(probe.NeuronIds, Is.SubsetOf(ids));
        Assert.That(probe.NeuronIds, Is.SupersetOf(Informative));
        Assert.That(() => probe.PredictCorrect(new float[ids.Length]), Throws.ArgumentException.With.Message.Contains("120"));
    }

    [Test]
    public void BadInputIsAClearError()
    {
        var (x, labels) = PlantedData(40, Model.NeuronCount, seed: 1, Informative, PlantedWeights);

        var folds = Assert.Throws<ArgumentException>(() =>
            L1ProbeTrainer.Train(Model, new ActivationMatrix(x.Values[..(3 * x.Columns)], 3, x.Columns), null, labels[..3]));
        Assert.That(folds!.Message, Does.Contain("fewer questions (3) than cross-validation folds (5)"));

        var oneClass = Assert.Throws<ArgumentException>(() =>
            L1ProbeTrainer.Train(Model, x, null, Enumerable.Repeat(false, 40).ToArray()));
        Assert.That(oneClass!.Message, Does.Contain("all 40 labels are incorrect"));

        var ids = Enumerable.Range(0, Model.NeuronCount).ToArray();
        ids[17] = 120;
        var outside = Assert.Throws<ArgumentException>(() => L1ProbeTrainer.Train(Model, x, ids, labels));
        Assert.That(outside!.Message, Does.Contain("feature index 120").And.Contain("outside the model"));

        var values = (float[])x.Values.Clone();
        values[4 * x.Columns + 2] = float.NaN;
        var nan = Assert.Throws<ArgumentException>(() => L1ProbeTrainer.Train(Model, new ActivationMatrix(values, 40, x.Columns), null, labels));
        Assert.That(nan!.Message, Does.Contain("row 4, feature column 2 is NaN"));
    }

    [Test]
    public void ProbeFileForAnotherModelOrDamagedIsRefusedNamingTheFile()
    {
        var (x, labels) = PlantedData(120, Model.NeuronCount, seed: 2, Informative, PlantedWeights);
        var probe = L1ProbeTrainer.Train(Model, x, null, labels, new L1ProbeOptions { Folds = 3, LambdaCount = 15 }).Probe;
        var path = TempFile("probe.bin");
        probe.Save(path);

        var other = Assert.Throws<ModelFormatException>(() => L1Probe.Load(path, new ModelShape(3, 40, "test-model-b")));
        Assert.That(other!.Message, Does.StartWith(path).And.Contain("(model test-model-a), not for the model in use"));
        Assert.Throws<ModelFormatException>(() => L1Probe.Load(path, new ModelShape(4, 40, "test-model-a")));

        var bytes = File.ReadAllBytes(path);
        var cut = TempFile("cut.bin");
        File.WriteAllBytes(cut, bytes[..^10]);
        Assert.That(() => L1Probe.Load(cut), Throws.TypeOf<ModelFormatException>().With.Message.Contains("truncated"));

        var flipped = (byte[])bytes.Clone();
        flipped[^8] ^= 0x40;
        var corrupt = TempFile("corrupt.bin");
        File.WriteAllBytes(corrupt, flipped);
        Assert.That(() => L1Probe.Load(corrupt), Throws.TypeOf<ModelFormatException>().With.Message.Contains("checksum"));

        Assert.That(() => L1Probe.Load(TempFile("missing.bin")), Throws.TypeOf<ModelFormatException>().With.Message.Contains("not found"));
    }

    internal static double StdOf(ActivationMatrix x, int j)
    {
        double mean = 0, sq = 0;
        for (int i = 0; i < x.Rows; i++) mean += x.Values[i * x.Columns + j];
        mean /= x.Rows;
        for (int i = 0; i < x.Rows; i++) { double d = x.Values[i * x.Columns + j] - mean; sq += d * d; }
        return Math.Sqrt(sq / x.Rows);
    }

    internal static string TempFile(string name)
    {
        var dir = Path.Combine(TestContext.CurrentContext.WorkDirectory, "probing-tests", TestContext.CurrentContext.Test.ID);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
