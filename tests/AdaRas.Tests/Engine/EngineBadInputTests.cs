using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Engine;

public class EngineBadInputTests
{
    static string CopyOfExport(CheckpointShape shape)
    {
        var source = TestExports.Folder(shape);
        var copy = TestCheckpoints.NewFolder("export-copy");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        return copy;
    }

    [Test]
    public void MissingGraph_NamesTheFile()
    {
        var folder = CopyOfExport(CheckpointShapes.Tiny);
        File.Delete(Path.Combine(folder, "model.onnx"));
        var e = Assert.Throws<ModelFormatException>(() => AdaRas.Engine.LanguageModel.Load(folder))!;
        Assert.That(e.Message, Does.Contain("model.onnx"));
    }

    [Test]
    public void MissingManifest_NamesTheFile()
    {
        var folder = CopyOfExport(CheckpointShapes.Tiny);
        File.Delete(Path.Combine(folder, ModelManifest.FileName));
        var e = Assert.Throws<ModelFormatException>(() => AdaRas.Engine.LanguageModel.Load(folder))!;
        Assert.That(e.Message, Does.Contain("manifest.json"));
    }

    [Test]
    public void ManifestThatDisagreesWithTheGraph_IsRefused()
    {
        var folder = CopyOfExport(CheckpointShapes.Tiny);
        var path = Path.Combine(folder, ModelManifest.FileName);
        var m = ModelManifest.Load(path);
        // Claim a different intermediate size for the taps than the graph has.
        var outputs = m.Outputs.Select(o => o.Name == GraphNames.TapLast ? o with { Shape = ["batch_size", m.NumLayers, m.IntermediateSize + 1] } : o).ToArray();
        (m with { Outputs = outputs }).Save(path);
        var e = Assert.Throws<ModelFormatException>(() => AdaRas.Engine.LanguageModel.Load(folder))!;
        Assert.That(e.Message, Does.Contain("mlp.last").And.Contain("manifest.json"));

        var renamed = CopyOfExport(CheckpointShapes.Tiny);
        var path2 = Path.Combine(renamed, ModelManifest.FileName);
        var m2 = ModelManifest.Load(path2);
        (m2 with { Inputs = m2.Inputs.Append(new TensorSpec("steering.99.scale", "float", [1], "")).ToArray() }).Save(path2);
        var e2 = Assert.Throws<ModelFormatException>(() => AdaRas.Engine.LanguageModel.Load(renamed))!;
        Assert.That(e2.Message, Does.Contain("steering.99.scale"));
    }

    [Test]
    public void PromptLongerThanTheContext_IsAClearError()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 4 });
        var tooLong = Enumerable.Repeat(5, model.Manifest.ContextLength + 1).ToArray();
        var e = Assert.Throws<ArgumentException>(() => generator.AppendTokens(tooLong))!;
        Assert.That(e.Message, Does.Contain("context"));
    }

    [TestCase(-0.5, 0, 1.0, "temperature")]
    [TestCase(1.0, -1, 1.0, "top-k")]
    [TestCase(1.0, 0, 0.0, "top-p")]
    [TestCase(1.0, 0, 1.5, "top-p")]
    [TestCase(double.NaN, 0, 1.0, "temperature")]
    public void InvalidSamplingValues_AreRejected(double temperature, int topK, double topP, string named)
    {
        var p = new GeneratorParams { DoSample = true, Temperature = temperature, TopK = topK, TopP = topP };
        var e = Assert.Throws<ArgumentException>(p.Validate)!;
        Assert.That(e.Message, Does.Contain(named));
    }

    [Test]
    public void TokenOutsideTheVocabulary_IsRejected()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var generator = new Generator(model);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.AppendTokens([1, model.Manifest.VocabSize]));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void NonFiniteSteering_IsRejectedNamingTheTensor(float bad)
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var steering = SteeringTensors.Create(model.Manifest);
        steering.Shift(1)[17] = bad;
        using var generator = new Generator(model);
        var e = Assert.Throws<ArgumentException>(() => generator.Steering = steering)!;
        Assert.That(e.Message, Does.Contain("steering.1.shift[17]"));
    }

    [Test]
    public void SteeringOfTheWrongShape_IsRejected()
    {
        using var tiny = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var other = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.TinyUntied));
        using var steering = SteeringTensors.Create(other.Manifest);
        using var generator = new Generator(tiny);
        var e = Assert.Throws<ArgumentException>(() => generator.Steering = steering)!;
        Assert.That(e.Message, Does.Contain("the model needs"));
    }

    [Test]
    public void PlainExport_HasNoSteeringOrTaps()
    {
        using var plain = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny, steerable: false));
        Assert.Throws<InvalidOperationException>(() => SteeringTensors.Create(plain.Manifest));
        using var generator = new Generator(plain);
        Assert.Throws<InvalidOperationException>(() => generator.SetFeatureIndices([1]));
    }

    [Test]
    public void FeatureIndexOutsideTheModel_IsRejected()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var generator = new Generator(model);
        long total = (long)model.Manifest.NumLayers * model.Manifest.IntermediateSize;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => generator.SetFeatureIndices([0, total]))!;
        Assert.That(e.Message, Does.Contain(total.ToString()));
    }
}
