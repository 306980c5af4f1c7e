using AdaRas.Steering.Kernels;
using AdaRas.Steering.Rcn;

namespace AdaRas.Tests.Steering;

[TestFixture]
internal sealed class NeuronStatisticsTests
{
    const int Layers = 4;
    const int I = 97;
    const int N = Layers * I;

    static KernelDevice Device => SteeringTestDevice.Cpu;

    /// <summary>Neurons given fixed class means, to force the edge cases the ranking must get right.</summary>
    static readonly Dictionary<int, (float Plus, float Minus)> Special = new()
    {
        // exact sign flips: r must be exactly 1
        [0] = (1.5f, -0.5f), [1] = (-2f, 3f), [2] = (0.25f, -0.25f),
        // both means zero: r = 0, delta = 0
        [10] = (0f, 0f), [11] = (0f, 0f), [120] = (0f, 0f),
        // equal r = 1/3 with different |delta|: ordered by |delta| descending
        [20] = (2f, 1f), [21] = (4f, 2f), [22] = (-6f, -3f), [23] = (8f, 4f),
        // equal r and |delta|: ordered by id ascending
        [200] = (3f, 1f), [31] = (3f, 1f), [150] = (-1f, -3f),
        // tiny means, where the 1e-8 in the denominator matters
        [40] = (1e-9f, 0f), [41] = (0f, -2e-8f),
    };

    /// <summary>Random activations (mixed signs, so many random neurons flip sign between the classes and get r = 1;
    /// or all positive, so none does) with the special neurons' fixed values.</summary>
    static float[] Trajectory(Random rng, bool correct, bool mixedSigns = true)
    {
        var v = new float[N];
        for (int i = 0; i < N; i++)
            v[i] = (float)(rng.NextDouble() * 4 + (mixedSigns ? -2 : 1) + (correct ? 0.3 : -0.1) * (i % 7));
        foreach (var (id, (plus, minus)) in Special) v[id] = correct ? plus : minus;
        return v;
    }

    static (NeuronStatistics Kernel, ReferenceRcn.Accumulator Reference) Build(int correct, int incorrect, int seed, bool mixedSigns = true)
    {
        var rng = new Random(seed);
        var stats = new NeuronStatistics(Device, Layers, I);
        var reference = new ReferenceRcn.Accumulator(N);
        var labels = Enumerable.Repeat(true, correct).Concat(Enumerable.Repeat(false, incorrect)).ToArray();
        rng.Shuffle(labels);
        for (int t = 0; t < labels.Length; t++)
        {
            var mean = Trajectory(rng, labels[t], mixedSigns);
            stats.AddTrajectoryMean($"traj-{t}", labels[t], mean, tokenCount: 10 + t);
            reference.AddMean(mean, labels[t]);
        }
        Assume.That(reference.Correct, Is.EqualTo(correct));
        Assume.That(reference.Incorrect, Is.EqualTo(incorrect));
        return (stats, reference);
    }

    [TestCase(5, 4, 1)]
    [TestCase(1, 1, 2)]
    [TestCase(7, 3, 3)]
    public void ContrastEqualsReference(int correct, int incorrect, int seed)
    {
        var (kernel, reference) = Build(correct, incorrect, seed);
        using (kernel)
        {
            var got = kernel.ComputeContrast();
            var want = ReferenceRcn.Contrast(reference);
            Assert.Multiple(() =>
            {
                Assert.That(got.MuPlus, Is.EqualTo(want.MuPlus), "mu+");
                Assert.That(got.MuMinus, Is.EqualTo(want.MuMinus), "mu-");
                Assert.That(got.Delta, Is.EqualTo(want.Delta), "delta");
                Assert.That(got.Relative, Is.EqualTo(want.Relative), "r");
            });
        }
    }

    [Test]
    public void EdgeNeuronsHaveTheExactValuesTheFormulaPromises()
    {
        var (kernel, _) = Build(5, 4, seed: 4);
        using (kernel)
        {
            var c = kernel.ComputeContrast();
            Assert.Multiple(() =>
            {
                foreach (var id in new[] { 0, 1, 2 })
                    Assert.That(c.Relative[id], Is.EqualTo(1f), $"sign flip at neuron {id}");
                foreach (var id in new[] { 10, 11, 120 })
                {
                    Assert.That(c.Relative[id], Is.EqualTo(0f), $"r of all-zero neuron {id}");
                    Assert.That(c.Delta[id], Is.EqualTo(0f), $"delta of all-zero neuron {id}");
                }
                Assert.That(c.Delta[0], Is.EqualTo(2f));
                Assert.That(c.Delta[1], Is.EqualTo(-5f));
                Assert.That(c.Relative[20], Is.EqualTo(c.Relative[21]).And.EqualTo(c.Relative[22]).And.EqualTo(c.Relative[23]));
            });
        }
    }

    [TestCase(5, 4, 5, RankingAlgorithm.DeviceRadixSort)]
    [TestCase(5, 4, 5, RankingAlgorithm.HostSelection)]
    [TestCase(2, 3, 6, RankingAlgorithm.DeviceRadixSort)]
    [TestCase(2, 3, 6, RankingAlgorithm.HostSelection)]
    public void FullRankingEqualsReference(int correct, int incorrect, int seed, RankingAlgorithm algorithm)
    {
        var (kernel, reference) = Build(correct, incorrect, seed);
        using (kernel)
        {
            var ranked = kernel.Rank(N, algorithm);
            var want = ReferenceRcn.Contrast(reference);
            var order = ReferenceRcn.RankOrder(want.Relative, want.Delta);
            Assert.That(ranked.Select(n => (int)n.NeuronId), Is.EqualTo(order));
            for (int k = 0; k < N; k++)
            {
                var n = ranked[k];
                Assert.That(n.Rank, Is.EqualTo(k + 1));
                Assert.That((n.Layer, n.Index), Is.EqualTo((order[k] / I, order[k] % I)));
                Assert.That((n.MuPlus, n.MuMinus, n.Delta, n.Relative),
                    Is.EqualTo((want.MuPlus[order[k]], want.MuMinus[order[k]], want.Delta[order[k]], want.Relative[order[k]])));
            }
        }
    }

    [TestCase(RankingAlgorithm.DeviceRadixSort)]
    [TestCase(RankingAlgorithm.HostSelection)]
    public void TiesAreBrokenByAbsDeltaThenId(RankingAlgorithm algorithm)
    {
        // All random activations positive: only the special sign-flip neurons reach r = 1.
        var (kernel, _) = Build(5, 4, seed: 7, mixedSigns: false);
        using (kernel)
        {
            var ids = kernel.Rank(N, algorithm).Select(n => (int)n.NeuronId).ToList();
            // sign flips (r = 1) come first, larger |delta| first: neuron 1 (|5|), 0 (|2|), 2 (|0.5|)
            Assert.That(ids.Take(3), Is.EqualTo(new[] { 1, 0, 2 }));
            // r = 1/3 group by |delta|: 23 (4), 22 (3), 21 (2), 20 (1)
            Assert.That(ids.IndexOf(23), Is.LessThan(ids.IndexOf(22)));
            Assert.That(ids.IndexOf(22), Is.LessThan(ids.IndexOf(21)));
            Assert.That(ids.IndexOf(21), Is.LessThan(ids.IndexOf(20)));
            // identical r and |delta| (r = 1/2, |delta| = 2): ids ascending, adjacent
            int at = ids.IndexOf(31);
            Assert.That(ids.Skip(at).Take(3), Is.EqualTo(new[] { 31, 150, 200 }));
            // zero neurons (r = 0, |delta| = 0) are last, by id
            Assert.That(ids.TakeLast(3), Is.EqualTo(new[] { 10, 11, 120 }));
        }
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(200)]
    public void TopKOfBothAlgorithmsIsTheReferencePrefix(int top)
    {
        var (kernel, reference) = Build(4, 4, seed: 15);
        using (kernel)
        {
            var want = ReferenceRcn.Contrast(reference);
            var order = ReferenceRcn.RankOrder(want.Relative, want.Delta).Take(top);
            Assert.That(kernel.Rank(top, RankingAlgorithm.DeviceRadixSort).Select(n => (int)n.NeuronId), Is.EqualTo(order));
            Assert.That(kernel.Rank(top, RankingAlgorithm.HostSelection).Select(n => (int)n.NeuronId), Is.EqualTo(order));
            Assert.That(kernel.Rank(top).Select(n => (int)n.NeuronId), Is.EqualTo(order));
        }
    }

    [Test]
    public void RankingCanBeRepeatedAndContinuedAfterMoreData()
    {
        var (kernel, reference) = Build(3, 3, seed: 8);
        using (kernel)
        {
            var first = kernel.Rank(20).Select(n => n.NeuronId).ToArray();
            Assert.That(kernel.Rank(20).Select(n => n.NeuronId), Is.EqualTo(first), "ranking twice must give the same answer");

            var extra = Trajectory(new Random(99), correct: false);
            kernel.AddTrajectoryMean("late", false, extra, 5);
            reference.AddMean(extra, false);
            var want = ReferenceRcn.Contrast(reference);
            Assert.That(kernel.Rank(20).Select(n => (int)n.NeuronId), Is.EqualTo(ReferenceRcn.RankOrder(want.Relative, want.Delta).Take(20)));
            var counts = kernel.Counts;
            Assert.That((counts.CorrectTrajectories, counts.IncorrectTrajectories), Is.EqualTo((3, 4)));
            Assert.That(counts.CorrectTokens + counts.IncorrectTokens, Is.EqualTo(10 + 11 + 12 + 13 + 14 + 15 + 5));
        }
    }

    [Test]
    public void SumsAreDividedByTheTokenCountOnTheDevice()
    {
        var rng = new Random(9);
        using var kernel = new NeuronStatistics(Device, Layers, I);
        var reference = new ReferenceRcn.Accumulator(N);
        for (int t = 0; t < 6; t++)
        {
            bool correct = t % 3 != 0;
            long tokens = 17 + 31 * t;
            var sum = Trajectory(rng, correct).Select(x => x * tokens).ToArray();
            kernel.AddTrajectorySum($"t{t}", correct, sum, tokens);
            reference.AddSum(sum, tokens, correct);
        }
        var got = kernel.ComputeContrast();
        var want = ReferenceRcn.Contrast(reference);
        Assert.That(got.MuPlus, Is.EqualTo(want.MuPlus));
        Assert.That(got.Relative, Is.EqualTo(want.Relative));
        Assert.That(kernel.Counts.CorrectTokens, Is.EqualTo(Enumerable.Range(0, 6).Where(t => t % 3 != 0).Sum(t => 17L + 31 * t)));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void SingleClassDataIsAnError(bool onlyCorrect)
    {
        using var kernel = new NeuronStatistics(Device, Layers, I);
        var rng = new Random(10);
        for (int t = 0; t < 3; t++) kernel.AddTrajectoryMean($"t{t}", onlyCorrect, Trajectory(rng, onlyCorrect), 4);
        var e = Assert.Throws<InvalidOperationException>(() => kernel.Rank(10));
        Assert.That(e!.Message, Does.Contain("both correct and incorrect").And.Contain(onlyCorrect ? "3 correct and 0 incorrect" : "0 correct and 3 incorrect"));
        Assert.Throws<InvalidOperationException>(() => kernel.ComputeContrast());
    }

    [Test]
    public void NoDataIsAnError()
    {
        using var kernel = new NeuronStatistics(Device, Layers, I);
        Assert.Throws<InvalidOperationException>(() => kernel.Rank(1));
    }

    [TestCase(float.NaN, 2)]
    [TestCase(float.PositiveInfinity, 0)]
    [TestCase(float.NegativeInfinity, 3)]
    public void NonFiniteActivationsAreReportedNotAveraged(float bad, int layer)
    {
        var (kernel, reference) = Build(3, 2, seed: 11);
        using (kernel)
        {
            var poisoned = Trajectory(new Random(12), correct: true);
            poisoned[layer * I + 5] = bad;
            poisoned[layer * I + 40] = bad;
            var e = Assert.Throws<NonFiniteActivationException>(() => kernel.AddTrajectoryMean("q17-run3", true, poisoned, 9));
            Assert.That(e!.TrajectoryId, Is.EqualTo("q17-run3"));
            Assert.That(e.Layers, Is.EqualTo(new[] { layer }));
            Assert.That(e.Message, Does.Contain("q17-run3").And.Contain($"layer {layer}"));

            // Nothing of the bad trajectory went in: statistics equal the reference without it.
            Assert.That(kernel.Counts.CorrectTrajectories, Is.EqualTo(3));
            Assert.That(kernel.ComputeContrast().MuPlus, Is.EqualTo(ReferenceRcn.Contrast(reference).MuPlus));
        }
    }

    [Test]
    public void NonFiniteValuesInSeveralLayersAreAllNamed()
    {
        using var kernel = new NeuronStatistics(Device, Layers, I);
        var v = new float[N];
        v[1 * I] = float.NaN;
        v[3 * I + I - 1] = float.PositiveInfinity;
        var e = Assert.Throws<NonFiniteActivationException>(() => kernel.AddTrajectorySum("x", false, v, 3));
        Assert.That(e!.Layers, Is.EqualTo(new[] { 1, 3 }));
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        using var kernel = new NeuronStatistics(Device, Layers, I);
        var e = Assert.Throws<ArgumentException>(() => kernel.AddTrajectoryMean("short-one", true, new float[N - 1], 3));
        Assert.That(e!.Message, Does.Contain("short-one").And.Contain($"{N}"));
        Assert.Throws<ArgumentOutOfRangeException>(() => kernel.AddTrajectoryMean("t", true, new float[N], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => kernel.Rank(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => kernel.Rank(N + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NeuronStatistics(Device, 0, 5));
    }

    [Test]
    public void ResetForgetsEverything()
    {
        var (kernel, _) = Build(2, 2, seed: 13);
        using (kernel)
        {
            kernel.Reset();
            Assert.That(kernel.Counts, Is.EqualTo(new ClassCounts(0, 0, 0, 0)));
            var rng = new Random(14);
            var reference = new ReferenceRcn.Accumulator(N);
            foreach (var correct in new[] { true, false })
            {
                var m = Trajectory(rng, correct);
                kernel.AddTrajectoryMean("again", correct, m, 2);
                reference.AddMean(m, correct);
            }
            Assert.That(kernel.ComputeContrast().Delta, Is.EqualTo(ReferenceRcn.Contrast(reference).Delta));
        }
    }
}
