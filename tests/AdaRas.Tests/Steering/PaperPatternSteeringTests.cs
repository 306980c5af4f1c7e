using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Steering;
using AdaRas.Steering.Patterns;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Steering;

/// <summary>
/// The seven released patterns load and drive steering on a checkpoint of their shape: 28 x 6144 (Qwen3-1.7B) and
/// 36 x 9728 (Qwen3-4B) MLP neurons, with a 16-wide residual stream so the models stay small and fast.
/// </summary>
public sealed class PaperPatternSteeringTests
{
    static CheckpointShape Narrow(string name, ModelShape neurons) => new(name, CheckpointShapes.TinyVocab, Hidden: 16,
        Intermediate: neurons.IntermediateSize, Layers: neurons.Layers, Heads: 1, KvHeads: 1, HeadDim: 16, Tied: true, MaxPositions: 64);

    static readonly Dictionary<string, CheckpointShape> Shapes = new()
    {
        ["Qwen3-1.7B"] = Narrow("narrow-1.7b", ModelShape.Qwen3_1_7B),
        ["Qwen3-4B"] = Narrow("narrow-4b", ModelShape.Qwen3_4B),
    };

    static readonly int[] Prompt = [12, 7, 99, 150];

    public static IEnumerable<string> PaperModels => Shapes.Keys;

    [TestCaseSource(nameof(PaperModels))]
    public void EveryReleasedPattern_LoadsAndChangesTheLogits_AsTheReferencePredicts(string modelName)
    {
        var shape = Shapes[modelName];
        var entries = PaperPatterns.All.Where(e => e.ModelName == modelName).ToList();
        Assert.That(entries, Has.Count.EqualTo(modelName == "Qwen3-4B" ? 1 : 6));

        var checkpointFolder = TestCheckpoints.Folder(shape);
        var exported = TestExports.Folder(shape);
        using var model = AdaRas.Engine.LanguageModel.Load(exported);
        Assert.That((model.Manifest.NumLayers, model.Manifest.IntermediateSize), Is.EqualTo((entries[0].Shape.Layers, entries[0].Shape.IntermediateSize)));
        ReferenceModel reference;
        using (var checkpoint = Checkpoint.Open(checkpointFolder)) reference = ReferenceModel.Load(checkpoint);
        var plain = Logits(model, null);

        foreach (var entry in entries)
        {
            using var steerer = Steerer.Create(model, new SteeringOptions(entry.Path) { Neurons = 50, Alpha = 0.3f }, SteeringTestDevice.Cpu);
            Assert.That(steerer.Pattern.Count, Is.EqualTo(200), entry.FileName);
            var top = steerer.Pattern.Top(50);
            var shift = steerer.Tensors.AllShifts.ToArray();
            Assert.That(shift.Count(v => v != 0), Is.EqualTo(50), entry.FileName);
            Assert.That(top.All(n => shift[n.NeuronId] == 0.3f * n.Delta), entry.FileName);

            var steered = Logits(model, steerer);
            TestContext.Out.WriteLine($"{entry.FileName}: relative change of the logits {Compare.RelativeError(steered, plain):G3}");
            Assert.That(Compare.RelativeError(steered, plain), Is.GreaterThan(1e-4), $"{entry.FileName} changes the logits");

            int I = shape.Intermediate;
            var perLayer = top.GroupBy(n => n.Layer).ToDictionary(g => g.Key, g =>
            {
                var s = new float[I];
                foreach (var n in g) s[n.Index] = 0.3f * n.Delta;
                return s;
            });
            var expected = reference.NewSession().Forward(Prompt, new ReferenceSteering { Shift = perLayer });
            Assert.That(Compare.RelativeError(steered, expected[^1]), Is.LessThan(1e-4), $"{entry.FileName}: engine vs reference");
        }
    }

    static float[] Logits(AdaRas.Engine.LanguageModel model, Steerer? steerer)
    {
        using var generator = new Generator(model, new GeneratorParams { MaxLength = 8 });
        if (steerer is not null) generator.Steering = steerer.Tensors;
        generator.AppendTokens(Prompt);
        return generator.Logits.ToArray();
    }
}
