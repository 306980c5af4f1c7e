using AdaRas.Evaluation.Demo;
using AdaRas.Model;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Demo;

/// <summary>The demo's control and broken-pipeline patterns move exactly what they say, and nothing else.</summary>
public class ControlPatternsTests
{
    const int Layers = 3, Size = 10, K = 4;

    /// <summary>Every neuron of a 3 x 10 model ranked; the top 4 sit in layer 1 at indices 2, 4, 6, 9 with large deltas.</summary>
    static RcnPattern Pattern(string folder)
    {
        var shape = new ModelShape(Layers, Size, "control-test");
        int[] top = [1 * Size + 2, 1 * Size + 4, 1 * Size + 6, 1 * Size + 9];
        var order = top.Concat(Enumerable.Range(0, Layers * Size).Except(top)).ToList();
        var ranked = order.Select((id, r) =>
        {
            float delta = r < K ? 2f + r : 0.01f * (id + 1);
            return new RankedNeuron(r + 1, id, id / Size, id % Size, delta / 2, -delta / 2, delta, r < K ? 1f : 0.5f);
        }).ToList();
        var path = Path.Combine(folder, "pattern.csv");
        RcnPattern.Write(path, ranked, PatternSidecar.Create(shape, new ClassCounts(4, 4, 40, 40), ranked.Count, "synthetic"), overwrite: true);
        return RcnPattern.Load(path, shape);
    }

    [Test]
    public void Shifted_MovesEveryTopNeuronByOneIndex_KeepingLayerAndDelta()
    {
        var folder = TestCheckpoints.NewFolder("control-shift");
        var pattern = Pattern(folder);
        var shifted = RcnPattern.Load(ControlPatterns.Shifted(pattern, K, 1, Path.Combine(folder, "shifted.csv")), pattern.Shape);
        Assert.That(shifted.Neurons.Select(n => (n.Layer, n.Index)), Is.EqualTo(new[] { (1, 3), (1, 5), (1, 7), (1, 0) }));
        Assert.That(shifted.Neurons.Select(n => n.Delta), Is.EqualTo(pattern.Top(K).Select(n => n.Delta)));
        Assert.That(shifted.Neurons.Select(n => n.NeuronId).Intersect(pattern.Top(K).Select(n => n.NeuronId)), Is.Empty);
    }

    [Test]
    public void LayersRotated_MovesEveryTopNeuronToTheNextLayer()
    {
        var folder = TestCheckpoints.NewFolder("control-layers");
        var pattern = Pattern(folder);
        var rotated = RcnPattern.Load(ControlPatterns.LayersRotated(pattern, K, Path.Combine(folder, "layers.csv")), pattern.Shape);
        Assert.That(rotated.Neurons.Select(n => (n.Layer, n.Index)), Is.EqualTo(pattern.Top(K).Select(n => (2, n.Index))));
        Assert.That(rotated.Neurons.Select(n => n.Delta), Is.EqualTo(pattern.Top(K).Select(n => n.Delta)));
    }

    [Test]
    public void Random_DrawsOtherNeuronsOfTheSameLayers_WithTheirOwnDeltas_SeededAndVaried()
    {
        var folder = TestCheckpoints.NewFolder("control-random");
        var pattern = Pattern(folder);
        var byId = pattern.Neurons.ToDictionary(n => n.NeuronId);
        var draws = Enumerable.Range(1, 5).Select(seed =>
            RcnPattern.Load(ControlPatterns.Random(pattern, K, seed, Path.Combine(folder, $"random-{seed}.csv")), pattern.Shape)).ToList();
        foreach (var d in draws)
        {
            Assert.That(d.Neurons, Has.Count.EqualTo(K));
            Assert.That(d.Neurons.All(n => n.Layer == 1), Is.True, "same layers as the top K");
            Assert.That(d.Neurons.Select(n => n.NeuronId).Intersect(pattern.Top(K).Select(n => n.NeuronId)), Is.Empty, "not the RCNs themselves");
            Assert.That(d.Neurons.All(n => n.Delta == byId[n.NeuronId].Delta), Is.True, "each keeps its own delta");
        }
        Assert.That(draws.Select(d => string.Join(",", d.Neurons.Select(n => n.NeuronId))).Distinct().Count(), Is.GreaterThan(1), "seeds differ");
        var again = RcnPattern.Load(ControlPatterns.Random(pattern, K, 1, Path.Combine(folder, "again.csv")), pattern.Shape);
        Assert.That(again.Neurons.Select(n => n.NeuronId), Is.EqualTo(draws[0].Neurons.Select(n => n.NeuronId)), "same seed, same draw");
    }

    [Test]
    public void Random_RefusesAPatternThatDoesNotRankEveryNeuronOfThoseLayers()
    {
        var folder = TestCheckpoints.NewFolder("control-partial");
        var full = Pattern(folder);
        var shape = full.Shape;
        var ranked = full.Neurons.Take(8).Select((n, i) => new RankedNeuron(i + 1, n.NeuronId, n.Layer, n.Index, n.MuPlus!.Value, n.MuMinus!.Value, n.Delta, n.Relative!.Value)).ToList();
        var path = Path.Combine(folder, "top8.csv");
        RcnPattern.Write(path, ranked, full.Sidecar! with { Top = 8 }, overwrite: true);
        var partial = RcnPattern.Load(path, shape);
        var error = Assert.Throws<ArgumentException>(() => ControlPatterns.Random(partial, K, 1, Path.Combine(folder, "r.csv")));
        Assert.That(error!.Message, Does.Contain("every neuron"));
    }
}
