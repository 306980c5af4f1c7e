using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing;
using AdaRas.Probing.Gate;
using AdaRas.Probing.Metrics;
using AdaRas.Probing.Numerics;

namespace AdaRas.Tests.Probing;

public class AttentionGateTests
{
    static readonly ModelShape Model = new(3, 40, "test-model-a");
    static readonly int[] FeatureIds = [2, 5, 11, 17, 40, 41, 63, 77, 80, 99, 101, 119];

    /// <summary>
    /// Token sequences of varying length; a correct question carries a marker (features 0 and 1 raised) on one token
    /// somewhere, so attention pooling separates the classes while a plain mean dilutes the marker.
    /// </summary>
    internal static List<GateExample> SyntheticQuestions(int count, int n, int seed, int minTokens = 6, int maxTokens = 20)
    {
        var rng = new Random(seed);
        var list = new List<GateExample>();
        for (int q = 0; q < count; q++)
        {
            bool good = q < 2 ? q == 0 : rng.NextDouble() < 0.4;
            int tokens = rng.Next(minTokens, maxTokens + 1);
            var values = new float[tokens * n];
            for (int t = 0; t < tokens; t++)
                for (int j = 0; j < n; j++)
                    values[t * n + j] = (float)(3 + (j % 3) * 2 + (1 + j % 4) * AnovaFScoreTests.Gaussian(rng));
            if (good)
            {
                int marked = rng.Next(tokens);
                values[marked * n] += 6;
                values[marked * n + 1] += 6;
            }
            list.Add(new GateExample(new ActivationMatrix(values, tokens, n), good));
        }
        return list;
    }

    [Test]
    public void BackwardMatchesFiniteDifferencesForEveryParameterGroup([Values(true, false)] bool isGood)
    {
        int n = 5, h = 7, tokens = 4;
        var rng = new Random(3);
        var mean = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var invStd = Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        var net = new AttentionGateNetwork<double>(n, h, mean: mean, invStd: invStd);
        net.Initialise(new SeededRandom(9));
        for (int i = 0; i < net.Parameters.Length; i++) net.Parameters[i] *= 3; // larger weights: non-trivial attention
        var x = Enumerable.Range(0, tokens * n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        double keep = 1 / 0.7;
        double[] drop = [keep, 0, keep, keep, 0, keep, keep];
        const double posWeight = 1.7;
        var ws = new AttentionGateNetwork<double>.Workspace();

        double Loss() => AttentionGateNetwork<double>.BceWithLogits(net.Forward(x, tokens, drop, ws), isGood, posWeight).Loss;

        var grad = new double[net.Parameters.Length];
        double logit = net.Forward(x, tokens, drop, ws);
        net.Backward(x, AttentionGateNetwork<double>.BceWithLogits(logit, isGood, posWeight).GradLogit, ws, grad);

        var numeric = new double[grad.Length];
        const double step = 1e-6;
        for (int i = 0; i < grad.Length; i++)
        {
            double saved = net.Parameters[i];
            net.Parameters[i] = saved + step; double up = Loss();
            net.Parameters[i] = saved - step; double down = Loss();
            net.Parameters[i] = saved;
            numeric[i] = (up - down) / (2 * step);
        }
        foreach (var (name, length) in AttentionGateNetwork<double>.Groups(n, h))
        {
            var a = net.Group(grad, name).ToArray();
            var f = net.Group(numeric, name).ToArray();
            Assert.That(a.Length, Is.EqualTo(length));
            Assert.That(a.Max(Math.Abs), Is.GreaterThan(1e-4), $"{name}: gradient is not trivially zero");
            for (int k = 0; k < length; k++)
                Assert.That(a[k], Is.EqualTo(f[k]).Within(1e-8 + 1e-6 * Math.Abs(f[k])), $"{name}[{k}]");
        }
        // Dropped hidden units get no gradient.
        Assert.That(net.Group(grad, "hidden.weight").Slice(1 * n, n).ToArray(), Is.All.EqualTo(0.0));
    }

    [Test]
    public void BceWithLogitsMatchesItsDefinition()
    {
        foreach (double logit in new[] { -30.0, -2.5, -0.1, 0, 0.7, 4, 40 })
            foreach (bool y in new[] { true, false })
            {
                const double pw = 2.5;
                double s = 1 / (1 + Math.Exp(-logit));
                var (loss, grad) = AttentionGateNetwork<double>.BceWithLogits(logit, y, pw);
                if (Math.Abs(logit) < 20)
                {
                    double direct = -(pw * (y ? 1 : 0) * Math.Log(s) + (y ? 0 : 1) * Math.Log(1 - s));
                    Assert.That(loss, Is.EqualTo(direct).Within(1e-12 * (1 + direct)));
                }
                Assert.That(double.IsFinite(loss));
                double h = 1e-6;
                double numeric = (AttentionGateNetwork<double>.BceWithLogits(logit + h, y, pw).Loss -
                                  AttentionGateNetwork<double>.BceWithLogits(logit - h, y, pw).Loss) / (2 * h);
                Assert.That(grad, Is.EqualTo(numeric).Within(1e-7));
            }
    }

    [Test]
    public void AdamFollowsPyTorchSemanticsWithL2AddedToTheGradient()
    {
        float[] param = [0.5f, -1.25f, 2f, 0f, 0.1f, -0.3f, 0.7f, 1.1f, -2f];
        var reference = param.Select(v => (double)v).ToArray();
        double lr = 1e-2, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        var m = new double[param.Length];
        var v = new double[param.Length];
        var adam = new AdamOptimizer(param.Length, lr, wd);
        for (int t = 1; t <= 4; t++)
        {
            var grad = param.Select((p, i) => (float)(Math.Sin(i + t) * 0.3)).ToArray();
            adam.Step(param, grad);
            for (int i = 0; i < reference.Length; i++)
            {
                double g = grad[i] + wd * reference[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                reference[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
        Assert.That(param.Select(p => (double)p), Is.EqualTo(reference).Within(1e-5));
    }

    [Test]
    public void InitialisationIsPyTorchsDefaultUniformBound()
    {
        int n = 64, h = 256;
        var net = new AttentionGateNetwork<float>(n, h);
        net.Initialise(new SeededRandom(4));
        foreach (var (name, _) in AttentionGateNetwork<float>.Groups(n, h))
        {
            double bound = 1 / Math.Sqrt(name.StartsWith("output") ? h : n);
            var values = net.Group(net.Parameters, name).ToArray();
            Assert.That(values.Max(Math.Abs), Is.LessThanOrEqualTo(bound), name);
            if (values.Length > 100) Assert.That(values.Max(Math.Abs), Is.GreaterThan(0.95 * bound), name);
        }
    }

    [Test]
    public void TrainingOnSeparableSequencesReachesHighValidationAurocAndKeepsTheBestEpoch()
    {
        int n = FeatureIds.Length;
        var train = SyntheticQuestions(240, n, seed: 1);
        var validation = SyntheticQuestions(80, n, seed: 2);
        var epochs = new List<GateEpoch>();
        var result = AttentionGateTrainer.Train(Model, FeatureIds, train, validation,
            new AttentionGateOptions { MaxEpochs = 60, Patience = 5, Seed = 7 }, epochs.Add);

        Assert.That(result.Validation.Auroc, Is.GreaterThan(0.95));
        Assert.That(epochs, Is.EqualTo(result.History));
        var gate = result.Gate;
        Assert.That(gate.Training.BestValidationAuroc, Is.EqualTo(result.History.Max(e => e.ValidationAuroc)));
        Assert.That(result.History[gate.Training.BestEpoch - 1].ValidationAuroc, Is.EqualTo(gate.Training.BestValidationAuroc));
        if (result.History.Count < 60)
            Assert.That(result.History.Count, Is.EqualTo(gate.Training.BestEpoch + 5), "early stop after `patience` epochs without improvement");
        Assert.That(result.History[^1].TrainLoss, Is.LessThan(result.History[0].TrainLoss));
        Assert.That(gate.Training.PosWeight, Is.EqualTo((double)train.Count(e => !e.IsGood) / train.Count(e => e.IsGood)));

        // The kept weights are the best epoch's, and the threshold is Youden's J on their validation ROC.
        var probs = validation.Select(e => gate.PredictCorrect(e.Tokens)).ToArray();
        var labels = validation.Select(e => e.IsGood).ToArray();
        Assert.That(BinaryMetrics.Auroc(probs, labels), Is.EqualTo(gate.Training.BestValidationAuroc));
        Assert.That(gate.Threshold, Is.EqualTo(BinaryMetrics.YoudenThreshold(probs, labels).Threshold));
        for (int i = 0; i < validation.Count; i++)
            Assert.That(gate.ShouldSteer(validation[i].Tokens), Is.EqualTo(probs[i] < gate.Threshold));
    }

    [Test]
    public void SameSeedGivesBitIdenticalWeightsAndFiles()
    {
        int n = FeatureIds.Length;
        var train = SyntheticQuestions(60, n, seed: 3);
        var validation = SyntheticQuestions(20, n, seed: 4);
        var options = new AttentionGateOptions { MaxEpochs = 3, Seed = 11, BatchSize = 4 };
        var a = AttentionGateTrainer.Train(Model, FeatureIds, train, validation, options).Gate;
        var b = AttentionGateTrainer.Train(Model, FeatureIds, train, validation, options).Gate;
        var c = AttentionGateTrainer.Train(Model, FeatureIds, train, validation, options with { Seed = 12 }).Gate;
        Assert.That(Bits(a.Network.Parameters), Is.EqualTo(Bits(b.Network.Parameters)));
        Assert.That(Bits(a.Network.Parameters), Is.Not.EqualTo(Bits(c.Network.Parameters)));
        string pa = L1ProbeTests.TempFile("a.gate"), pb = L1ProbeTests.TempFile("b.gate");
        a.Save(pa);
        b.Save(pb);
        Assert.That(File.ReadAllBytes(pa), Is.EqualTo(File.ReadAllBytes(pb)));
    }

    [Test]
    public void SavedGateLoadsWithIdenticalPredictionsAndMetadata()
    {
        int n = FeatureIds.Length;
        var train = SyntheticQuestions(60, n, seed: 5);
        var validation = SyntheticQuestions(20, n, seed: 6);
        var gate = AttentionGateTrainer.Train(Model, FeatureIds, train, validation, new AttentionGateOptions { MaxEpochs = 4 }).Gate;
        var path = L1ProbeTests.TempFile("gate.bin");
        gate.Save(path);
        var loaded = AttentionGate.Load(path, Model, n);
        Assert.That(loaded.FeatureIds, Is.EqualTo(FeatureIds));
        Assert.That(loaded.Threshold, Is.EqualTo(gate.Threshold));
        Assert.That(loaded.Training, Is.EqualTo(gate.Training));
        Assert.That(loaded.HiddenSize, Is.EqualTo(256));
        Assert.That(loaded.Dropout, Is.EqualTo(0.3));
        Assert.That(Bits(loaded.Network.Parameters), Is.EqualTo(Bits(gate.Network.Parameters)));
        foreach (var e in validation)
            Assert.That(loaded.PredictCorrect(e.Tokens), Is.EqualTo(gate.PredictCorrect(e.Tokens)));
    }

    [Test]
    public void RawInputGate_ThePapers_IsSavedAsRaw_AndReloadsWithTheSamePredictions()
    {
        int n = FeatureIds.Length;
        var train = SyntheticQuestions(60, n, seed: 5);
        var validation = SyntheticQuestions(20, n, seed: 6);
        var options = new AttentionGateOptions { MaxEpochs = 4 };
        var raw = AttentionGateTrainer.Train(Model, FeatureIds, train, validation, options with { Standardize = false }).Gate;
        var standardized = AttentionGateTrainer.Train(Model, FeatureIds, train, validation, options).Gate;
        Assert.That((raw.Standardized, standardized.Standardized), Is.EqualTo((false, true)));
        var path = L1ProbeTests.TempFile("gate-raw.bin");
        raw.Save(path);
        var loaded = AttentionGate.Load(path, Model, n);
        Assert.That(loaded.Standardized, Is.False);
        foreach (var e in validation)
            Assert.That(loaded.PredictCorrect(e.Tokens), Is.EqualTo(raw.PredictCorrect(e.Tokens)));
        // Control: the two input treatments are different models, so the flag is not cosmetic.
        Assert.That(validation.Any(e => raw.PredictCorrect(e.Tokens) != standardized.PredictCorrect(e.Tokens)));
    }

    [Test]
    public void BadTrainingInputIsAClearError()
    {
        int n = FeatureIds.Length;
        var train = SyntheticQuestions(30, n, seed: 7);
        var validation = SyntheticQuestions(10, n, seed: 8);
        var quick = new AttentionGateOptions { MaxEpochs = 1 };

        var allGood = train.Select(e => e with { IsGood = true }).ToList();
        Assert.That(() => AttentionGateTrainer.Train(Model, FeatureIds, allGood, validation, quick),
            Throws.ArgumentException.With.Message.Contains("all 30 labels are correct"));
        var allBadValidation = validation.Select(e => e with { IsGood = false }).ToList();
        Assert.That(() => AttentionGateTrainer.Train(Model, FeatureIds, train, allBadValidation, quick),
            Throws.ArgumentException.With.Message.Contains("validation").And.Message.Contains("incorrect"));

        var outside = FeatureIds.ToArray();
        outside[^1] = 120;
        Assert.That(() => AttentionGateTrainer.Train(Model, outside, train, validation, quick),
            Throws.ArgumentException.With.Message.Contains("feature index 120").And.Message.Contains("outside the model"));
        var unsorted = FeatureIds.ToArray();
        (unsorted[3], unsorted[4]) = (unsorted[4], unsorted[3]);
        Assert.That(() => AttentionGateTrainer.Train(Model, unsorted, train, validation, quick),
            Throws.ArgumentException.With.Message.Contains("ascending"));

        var withNaN = train.ToList();
        var values = (float[])withNaN[3].Tokens.Values.Clone();
        values[2 * n + 1] = float.NaN;
        withNaN[3] = withNaN[3] with { Tokens = new ActivationMatrix(values, withNaN[3].Tokens.Rows, n) };
        Assert.That(() => AttentionGateTrainer.Train(Model, FeatureIds, withNaN, validation, quick),
            Throws.ArgumentException.With.Message.Contains("training question 3: row 2, feature column 1 is NaN"));

        var narrow = FeatureIds[..^1];
        Assert.That(() => AttentionGateTrainer.Train(Model, narrow, train, validation, quick),
            Throws.ArgumentException.With.Message.Contains("the gate has 11"));
    }

    [Test]
    public void BadGateFilesAreRefusedNamingTheFile()
    {
        int n = FeatureIds.Length;
        var gate = AttentionGateTrainer.Train(Model, FeatureIds, SyntheticQuestions(30, n, 9), SyntheticQuestions(10, n, 10),
            new AttentionGateOptions { MaxEpochs = 1, HiddenSize = 8 }).Gate;
        var path = L1ProbeTests.TempFile("gate.bin");
        gate.Save(path);

        Assert.That(() => AttentionGate.Load(path, new ModelShape(3, 40, "test-model-b")),
            Throws.TypeOf<ModelFormatException>().With.Message.StartsWith(path).And.Message.Contains("(model test-model-a), not for the model in use"));
        Assert.That(() => AttentionGate.Load(path, new ModelShape(3, 48, "test-model-a")),
            Throws.TypeOf<ModelFormatException>().With.Message.Contains("3 layers x 40 neurons"));
        Assert.That(() => AttentionGate.Load(path, Model, expectedFeatureCount: 16),
            Throws.TypeOf<ModelFormatException>().With.Message.Contains("uses N = 12 features, but 16 were expected"));

        var bytes = File.ReadAllBytes(path);
        var cut = L1ProbeTests.TempFile("cut.bin");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        Assert.That(() => AttentionGate.Load(cut), Throws.TypeOf<ModelFormatException>().With.Message.StartsWith(cut).And.Message.Contains("truncated"));

        // A NaN weight with a valid checksum (as a buggy writer would produce) is caught by the finiteness check.
        var nan = L1ProbeTests.TempFile("nan.bin");
        File.WriteAllBytes(nan, PatchFloat(bytes, "hidden.weight", 5, float.NaN));
        Assert.That(() => AttentionGate.Load(nan),
            Throws.TypeOf<ModelFormatException>().With.Message.Contains("'hidden.weight'").And.Message.Contains("element 5 is NaN"));

        var probeFile = L1ProbeTests.TempFile("not-a-gate.bin");
        File.WriteAllText(probeFile, "{\"kind\": \"attention-gate\"}");
        Assert.That(() => AttentionGate.Load(probeFile), Throws.TypeOf<ModelFormatException>().With.Message.Contains("not an AdaRas attention gate file"));
    }

    [Test]
    public void BadPredictionInputIsAClearError()
    {
        int n = FeatureIds.Length;
        var gate = AttentionGateTrainer.Train(Model, FeatureIds, SyntheticQuestions(30, n, 9), SyntheticQuestions(10, n, 10),
            new AttentionGateOptions { MaxEpochs = 1, HiddenSize = 8 }).Gate;
        var tokens = new float[3 * n];
        tokens[n + 4] = float.PositiveInfinity;
        Assert.That(() => gate.PredictCorrect(tokens, 3),
            Throws.ArgumentException.With.Message.Contains("token 1, feature 4 (neuron 40)"));
        Assert.That(() => gate.PredictCorrect(new float[3 * n - 1], 3), Throws.ArgumentException.With.Message.Contains("3 x 12"));
    }

    /// <summary>Rewrites one float of a named array and recomputes the CRC: the file format, as documented.</summary>
    static byte[] PatchFloat(byte[] file, string array, int element, float value)
    {
        var bytes = (byte[])file.Clone();
        int headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
        var header = JsonNode.Parse(bytes.AsSpan(16, headerLength))!.AsObject();
        long offset = 16 + headerLength;
        foreach (var entry in header["arrays"]!.AsArray())
        {
            if ((string)entry!["name"]! == array) break;
            offset += (int)entry["length"]! * ((string)entry["dtype"]! == "float64" ? 8 : 4);
        }
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)offset + 4 * element), value);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Crc32.HashToUInt32(bytes.AsSpan(0, bytes.Length - 4)));
        return bytes;
    }

    static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
