using AdaRas.Engine;
using AdaRas.Evaluation.Speed;
using AdaRas.Model;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Engine;

/// <summary>The generation loop: greedy parity with the reference and with ONNX Runtime GenAI, sampling, steering.</summary>
public class GenerationTests
{
    static readonly int[] Prompt = [12, 7, 99, 150, 3, 41];

    static ReferenceModel Reference(CheckpointShape shape)
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape));
        return ReferenceModel.Load(checkpoint);
    }

    static int[] EngineGreedy(AdaRas.Engine.LanguageModel model, int maxNew, SteeringTensors? steering = null)
    {
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = maxNew, StopTokenIds = [] });
        if (steering is not null) generator.Steering = steering;
        generator.AppendTokens(Prompt);
        while (!generator.IsDone) generator.GenerateNextToken();
        return generator.Sequence.ToArray();
    }

    [Test]
    public void Greedy64Tokens_EqualTheReferenceAndOnnxRuntimeGenAI()
    {
        var shape = CheckpointShapes.TinyUntied;
        var folder = TestExports.Folder(shape);
        using var model = AdaRas.Engine.LanguageModel.Load(folder);
        var engine = EngineGreedy(model, 64);
        var generated = engine.Skip(Prompt.Length).ToArray();
        var reference = ReferenceGeneration.Greedy(Reference(shape), Prompt, 64);
        Assert.That(generated, Is.EqualTo(reference), "engine vs managed reference");
        Assert.That(generated.Distinct().Count(), Is.GreaterThan(3), "a non-degenerate continuation");

        using var genai = new GenAiRunner("genai", folder);
        Assert.That(genai.Greedy(Prompt, 64), Is.EqualTo(engine), "engine vs ONNX Runtime GenAI on the same folder");
    }

    [Test]
    public void SamplingWithASeed_IsReproducible_AndTemperatureZeroIsGreedy()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        int[] Sample(int seed, double temperature, int topK = 0, double topP = 1)
        {
            using var g = new Generator(model, new GeneratorParams { MaxNewTokens = 24, DoSample = true, Temperature = temperature, Seed = seed, TopK = topK, TopP = topP, StopTokenIds = [] });
            g.AppendTokens(Prompt);
            while (!g.IsDone) g.GenerateNextToken();
            return g.Sequence.ToArray();
        }
        Assert.That(Sample(5, 1.0), Is.EqualTo(Sample(5, 1.0)));
        Assert.That(Sample(5, 1.0, topK: 10, topP: 0.9), Is.EqualTo(Sample(5, 1.0, topK: 10, topP: 0.9)));
        Assert.That(Sample(5, 1.5), Is.Not.EqualTo(Sample(6, 1.5)), "different seeds differ");
        Assert.That(Sample(5, 0.0), Is.EqualTo(EngineGreedy(model, 24)));
        Assert.That(Sample(9, 1.0, topK: 1), Is.EqualTo(EngineGreedy(model, 24)), "top-k 1 is greedy");
    }

    [Test]
    public void SteeringShift_ChangesTheGeneratedTokensAsTheReferencePredicts()
    {
        var shape = CheckpointShapes.Tiny;
        var reference = Reference(shape);
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var steering = SteeringTensors.Create(model.Manifest);
        var shift = new float[shape.Intermediate];
        for (int i = 0; i < 8; i++) shift[i * 7] = 3f;
        shift.CopyTo(steering.Shift(1));

        var steered = EngineGreedy(model, 32, steering);
        var expected = ReferenceGeneration.Greedy(reference, Prompt, 32,
            new ReferenceSteering { Shift = new Dictionary<int, float[]> { [1] = shift } });
        Assert.That(steered.Skip(Prompt.Length), Is.EqualTo(expected));
        Assert.That(steered, Is.Not.EqualTo(EngineGreedy(model, 32)), "the shift changes the continuation");
    }

    [Test]
    public void SteeringCanChangeBetweenSteps()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var steering = SteeringTensors.Create(model.Manifest);
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 6, StopTokenIds = [] }) { Steering = steering };
        generator.AppendTokens(Prompt);
        steering.Shift(0).Fill(2f); // rewritten in place: the next step reads it without rebinding
        generator.GenerateNextToken();
        using var unsteered = new Generator(model, new GeneratorParams { MaxNewTokens = 6, StopTokenIds = [] });
        unsteered.AppendTokens(Prompt);
        unsteered.GenerateNextToken();
        Assert.That(generator.Sequence, Is.EqualTo(unsteered.Sequence), "the same token was sampled before the change");
        Assert.That(Compare.RelativeError(generator.Logits, unsteered.Logits), Is.GreaterThan(1e-3), "the step after the change is steered");
    }

    [Test]
    public void StopsOnTheModelsEosIds()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var probe = new Generator(model, new GeneratorParams { MaxNewTokens = 5, StopTokenIds = [] });
        probe.AppendTokens(Prompt);
        probe.GenerateNextToken();
        int first = probe.LastToken;
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 20, StopTokenIds = [first] });
        generator.AppendTokens(Prompt);
        generator.GenerateNextToken();
        Assert.That(generator.IsDone, Is.True);
        Assert.That(generator.StoppedOnStopToken, Is.True);
        Assert.That(model.Generation.EosTokenIds, Is.Not.Empty, "generation_config.json eos ids are the default stop ids");
    }
}
