using AdaRas.Evaluation.Speed;
using AdaRas.Steering.Kernels;

namespace AdaRas.Tests.Steering;

[TestFixture]
public sealed class RankingTests
{
    /// <summary>Non-negative floats of every kind: zeros, subnormals, normals around 1, the largest, infinity.</summary>
    static readonly float[] Edges =
    [
        0f, float.Epsilon, 2 * float.Epsilon, 1e-39f, 1.1754942e-38f, 1.17549435e-38f, 1e-8f, 0.33333334f, 0.5f,
        0.99999994f, 1f, 1.0000001f, 2f, 1e20f, float.MaxValue, float.PositiveInfinity,
    ];

    [Test]
    public void KeyOrderEqualsLexicographicFloatOrder()
    {
        var rng = new Random(21);
        var pairs = new List<(float R, float D)>();
        foreach (var r in Edges) foreach (var d in Edges) pairs.Add((r, d));
        for (int i = 0; i < 5000; i++)
        {
            float r = rng.Next(4) == 0 ? Edges[rng.Next(Edges.Length)] : (float)rng.NextDouble();
            float d = (float)(Math.Exp(rng.NextDouble() * 80 - 40));
            pairs.Add((r, d));
        }
        var byKey = pairs.OrderByDescending(p => RankKey.Of(p.R, p.D)).ToList();
        var byValue = pairs.OrderByDescending(p => p.R).ThenByDescending(p => p.D).ToList();
        Assert.That(byKey, Is.EqualTo(byValue));
    }

    [Test]
    public void KeyIsMonotonicInEachFloat()
    {
        for (int i = 1; i < Edges.Length; i++)
        {
            Assert.That(RankKey.Of(Edges[i], 0f), Is.GreaterThan(RankKey.Of(Edges[i - 1], float.PositiveInfinity)), $"r {Edges[i - 1]} < {Edges[i]}");
            Assert.That(RankKey.Of(0.5f, Edges[i]), Is.GreaterThan(RankKey.Of(0.5f, Edges[i - 1])), $"|delta| {Edges[i - 1]} < {Edges[i]}");
        }
    }

    [Test]
    public void BenchmarkHelperRanksLikeLinq()
    {
        var t = RankingBench.Run(SteeringTestDevice.Cpu, layers: 3, intermediateSize: 500, top: 40, repetitions: 2, seed: 3);
        Assert.That(t.SameSelection, Is.True);
        Assert.That(t.RadixSort, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(t.HostSelection, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(t.Linq, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(t.ToString(), Does.Contain("3x500"));
    }

    /// <summary>The Qwen3-1.7B shape (28 x 6144 = 172032 neurons): both rankings agree; prints the timings.</summary>
    [Test, Category("Performance")]
    public void RankQwen3_1_7BShape()
    {
        var t = RankingBench.Run(SteeringTestDevice.Cpu, repetitions: 3);
        TestContext.Out.WriteLine(t);
        Assert.That(t.SameSelection, Is.True);
        Assert.That(t.Top, Is.EqualTo(200));
    }
}
