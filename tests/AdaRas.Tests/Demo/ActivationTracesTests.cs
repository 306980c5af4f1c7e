using AdaRas.Engine;
using AdaRas.Evaluation.Demo;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Demo;

/// <summary>The activation plot's values come from one teacher-forced pass through the feature tap.</summary>
public class ActivationTracesTests
{
    /// <summary>
    /// Each position's value is the mean of sign(delta) * activation over the neurons, the same as feeding the text one
    /// token at a time and reading the last position's MLP intermediate (an independent path through the taps).
    /// </summary>
    [Test]
    public void Values_EqualTheTokenByTokenReading()
    {
        var folder = TestCheckpoints.NewFolder("activation-traces");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "contrastive.jsonl");
        File.WriteAllLines(path,
        [
            """{"id":"q1","_id":0,"question":"What is 24 * 8 + 756?","thinking":"\nStep by step:\n24*8=20*8+4*8=160+32=192\n192+756=948\n","is_good":true,"answer_content":"\\boxed{948}"}""",
            """{"id":"q1","_id":1,"question":"What is 24 * 8 + 756?","thinking":"\nQuick:\n24 * 8 + 756 = 902\n","is_good":false,"answer_content":"\\boxed{902}"}""",
        ]);
        using var model = AdaRas.Workflows.ModelOpening.Open(Path.Combine(RepositoryRoot.Find(), "models", "adaras-demo"));
        var set = ContrastiveSet.Load(path);
        // Two layers, unsorted, both signs: the tap's column order (ascending ids) must not leak into the result.
        var neurons = new[] { Neuron(2, 366, 1.4f), Neuron(1, 93, 1.6f), Neuron(2, 344, -3.2f) };
        var traces = ActivationTraces.Compute(model, set, neurons, questions: 1);

        Assert.That(traces.Select(t => t.IsGood), Is.EqualTo(new[] { true, false }));
        int size = model.Manifest.IntermediateSize;
        foreach (var (trace, trajectory) in traces.Zip(set.Trajectories))
        {
            var ids = model.Tokenizer.Encode(trajectory.Text);
            using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 0, MaxLength = ids.Length });
            Assert.That(trace.Values, Has.Length.EqualTo(ids.Length));
            for (int p = 0; p < ids.Length; p++)
            {
                generator.AppendTokens(ids.AsSpan(p, 1), LogitsScope.None);
                double expected = neurons.Average(n => Math.Sign(n.Delta) * (double)generator.MlpLast[n.Layer * size + n.Index]);
                Assert.That(trace.Values[p], Is.EqualTo(expected).Within(1e-4), $"{trajectory.SampleId} position {p}");
            }
        }
    }

    static PatternNeuron Neuron(int layer, int index, float delta) => new(0, (long)layer * 384 + index, layer, index, delta, null, null, null);
}
