using AdaRas.Engine;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Export;

/// <summary>The exported graph computes exactly Qwen3, as the plainly written reference forward does.</summary>
internal class ExportParityTests
{
    public static IEnumerable<CheckpointShape> TinyShapes => [CheckpointShapes.Tiny, CheckpointShapes.TinyUntied, CheckpointShapes.TinyMqa];

    static readonly int[] Prompt = [5, 17, 42, 99, 3, 150, 7, 64, 12, 200, 31];
    const double Tolerance = 1e-4;

    static ReferenceModel Reference(CheckpointShape shape, TensorDType dtype = TensorDType.F32)
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape, dtype: dtype));
        return ReferenceModel.Load(checkpoint);
    }

    [TestCaseSource(nameof(TinyShapes))]
    public void PrefillAnd16DecodeSteps_MatchTheReference(CheckpointShape shape)
    {
        var reference = Reference(shape).NewSession();
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var generator = new Generator(model, new GeneratorParams { MaxLength = 64 });

        var expected = reference.Forward(Prompt);
        generator.AppendTokens(Prompt, LogitsScope.All);
        Assert.That(Compare.RelativeError(generator.AllLogits, Compare.Flatten(expected)), Is.LessThan(Tolerance), "prefill logits");

        for (int step = 0; step < 16; step++)
        {
            int next = ReferenceGeneration.ArgMax(expected[^1]);
            expected = reference.Forward([next]);
            generator.AppendTokens([next]);
            Assert.That(Compare.RelativeError(generator.Logits, expected[0]), Is.LessThan(Tolerance), $"decode step {step}");
        }
    }

    [TestCaseSource(nameof(TinyShapes))]
    public void IncrementalDecoding_EqualsRecomputingTheWholeSequence(CheckpointShape shape)
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var whole = new Generator(model, new GeneratorParams { MaxLength = 64 });
        whole.AppendTokens(Prompt, LogitsScope.All);

        using var incremental = new Generator(model, new GeneratorParams { MaxLength = 64 });
        incremental.AppendTokens(Prompt.AsSpan(0, 4));
        for (int t = 4; t < Prompt.Length; t++)
        {
            incremental.AppendTokens(Prompt.AsSpan(t, 1));
            var row = whole.AllLogits.Slice(t * model.Manifest.VocabSize, model.Manifest.VocabSize);
            Assert.That(Compare.RelativeError(incremental.Logits, row), Is.LessThan(1e-5), $"position {t}");
        }
    }

    [Test]
    public void ChunkedPrefill_EqualsOnePass()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var onePass = new Generator(model, new GeneratorParams { MaxLength = 64 });
        onePass.AppendTokens(Prompt, LogitsScope.All);
        using var chunked = new Generator(model, new GeneratorParams { MaxLength = 64 }) { ChunkSize = 3 };
        chunked.AppendTokens(Prompt, LogitsScope.All);
        Assert.That(Compare.RelativeError(chunked.AllLogits, onePass.AllLogits), Is.LessThan(1e-5));
    }

    [TestCaseSource(nameof(TinyShapes))]
    public void SteeringDefaults_GiveTheSameLogitsAsThePlainExport(CheckpointShape shape)
    {
        using var steerable = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape, steerable: true));
        using var plain = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape, steerable: false));
        Assert.That(plain.Manifest.Inputs.Any(i => i.Name.StartsWith("steering")), Is.False);
        Assert.That(plain.Manifest.Outputs.Any(o => o.Name.StartsWith("mlp.")), Is.False);

        using var a = new Generator(steerable, new GeneratorParams { MaxLength = 32 });
        using var b = new Generator(plain, new GeneratorParams { MaxLength = 32 });
        a.AppendTokens(Prompt, LogitsScope.All);
        b.AppendTokens(Prompt, LogitsScope.All);
        Assert.That(a.AllLogits.ToArray(), Is.EqualTo(b.AllLogits.ToArray()), "prefill");
        for (int i = 0; i < 4; i++)
        {
            a.AppendTokens([Prompt[i]]);
            b.AppendTokens([Prompt[i]]);
            Assert.That(a.Logits.ToArray(), Is.EqualTo(b.Logits.ToArray()), $"decode {i}");
        }
    }

    [TestCase(0, 3, 2.5f)]
    [TestCase(1, 40, -4f)]
    public void NeuronShift_EqualsAddingTheDownProjColumnToTheResidual(int layer, int neuron, float shift)
    {
        var shape = CheckpointShapes.Tiny;
        var reference = Reference(shape);
        int hidden = shape.Hidden, inter = shape.Intermediate;
        var down = reference.DownProj(layer);
        var column = new float[hidden];
        for (int i = 0; i < hidden; i++) column[i] = shift * down[i * inter + neuron];
        var residualSteering = new ReferenceSteering { Residual = new Dictionary<int, float[]> { [layer] = column } };

        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var steering = SteeringTensors.Create(model.Manifest);
        steering.Shift(layer)[neuron] = shift;
        using var generator = new Generator(model, new GeneratorParams { MaxLength = 32 }) { Steering = steering };

        var session = reference.NewSession();
        var expected = session.Forward(Prompt, residualSteering);
        generator.AppendTokens(Prompt, LogitsScope.All);
        Assert.That(Compare.RelativeError(generator.AllLogits, Compare.Flatten(expected)), Is.LessThan(Tolerance), "prefill: last position steered");
        var unsteered = Reference(shape).NewSession().Forward(Prompt);
        Assert.That(Compare.RelativeError(generator.AllLogits[..(shape.VocabSize * (Prompt.Length - 1))],
            Compare.Flatten(unsteered[..^1])), Is.LessThan(Tolerance), "earlier positions untouched");
        Assert.That(Compare.RelativeError(generator.AllLogits[^shape.VocabSize..], unsteered[^1]), Is.GreaterThan(1e-3), "the shift changes the output");

        for (int step = 0; step < 3; step++)
        {
            expected = session.Forward([Prompt[step]], residualSteering);
            generator.AppendTokens([Prompt[step]]);
            Assert.That(Compare.RelativeError(generator.Logits, expected[0]), Is.LessThan(Tolerance), $"decode {step}");
        }
    }

    [Test]
    public void ScaleAndShift_AtAllPositions_MatchTheReferenceAffine()
    {
        var shape = CheckpointShapes.TinyUntied;
        var random = new Random(7);
        var scale = new Dictionary<int, float[]>();
        var shift = new Dictionary<int, float[]>();
        for (int l = 0; l < shape.Layers; l++)
        {
            scale[l] = Enumerable.Range(0, shape.Intermediate).Select(_ => (float)(0.5 + random.NextDouble())).ToArray();
            shift[l] = Enumerable.Range(0, shape.Intermediate).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        }
        var expected = Reference(shape).NewSession().Forward(Prompt, new ReferenceSteering { From = 0, Scale = scale, Shift = shift });

        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var steering = SteeringTensors.Create(model.Manifest);
        steering.Positions = SteeringPositions.All;
        for (int l = 0; l < shape.Layers; l++)
        {
            scale[l].CopyTo(steering.Scale(l));
            shift[l].CopyTo(steering.Shift(l));
        }
        using var generator = new Generator(model, new GeneratorParams { MaxLength = 32 }) { Steering = steering };
        generator.AppendTokens(Prompt, LogitsScope.All);
        Assert.That(Compare.RelativeError(generator.AllLogits, Compare.Flatten(expected)), Is.LessThan(Tolerance));
    }

    [Test]
    public void Taps_EqualTheReferenceMlpIntermediate()
    {
        var shape = CheckpointShapes.Tiny;
        var session = Reference(shape).NewSession();
        session.Forward(Prompt);
        var acts = session.LastMlpActivations; // [layer][position][I]
        int layers = shape.Layers, inter = shape.Intermediate;

        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape));
        using var generator = new Generator(model, new GeneratorParams { MaxLength = 32 });
        long[] features = [3, inter + 5, inter - 1, 2 * inter - 1, 0];
        generator.SetFeatureIndices(features);
        generator.AppendTokens(Prompt);

        var last = new float[layers * inter];
        var sum = new float[layers * inter];
        for (int l = 0; l < layers; l++)
            for (int i = 0; i < inter; i++)
            {
                last[l * inter + i] = acts[l][^1][i];
                sum[l * inter + i] = (float)acts[l].Sum(position => (double)position[i]);
            }
        Assert.That(Compare.RelativeError(generator.MlpLast, last), Is.LessThan(Tolerance), "last position");
        Assert.That(Compare.RelativeError(generator.MlpSum, sum), Is.LessThan(Tolerance), "sum over positions");
        Assert.That(generator.MlpSumCount, Is.EqualTo(Prompt.Length));

        var sorted = features.Order().ToArray();
        Assert.That(generator.FeatureIds, Is.EqualTo(sorted));
        var expectedFeatures = new float[Prompt.Length * sorted.Length];
        for (int t = 0; t < Prompt.Length; t++)
            for (int f = 0; f < sorted.Length; f++)
                expectedFeatures[t * sorted.Length + f] = acts[sorted[f] / inter][t][sorted[f] % inter];
        Assert.That(Compare.RelativeError(generator.Features, expectedFeatures), Is.LessThan(Tolerance), "gathered features");
    }

    [Test]
    public void TapsAreRecordedBeforeSteering()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.Tiny));
        using var plainRun = new Generator(model, new GeneratorParams { MaxLength = 32 });
        plainRun.AppendTokens(Prompt);
        using var steering = SteeringTensors.Create(model.Manifest);
        steering.Scale(0).Fill(3f);
        using var steeredRun = new Generator(model, new GeneratorParams { MaxLength = 32 }) { Steering = steering };
        steeredRun.AppendTokens(Prompt);
        int inter = model.Manifest.IntermediateSize;
        Assert.That(steeredRun.MlpLast[..inter].ToArray(), Is.EqualTo(plainRun.MlpLast[..inter].ToArray()), "layer 0 tap is pre-steering");
        Assert.That(Compare.RelativeError(steeredRun.MlpLast[inter..], plainRun.MlpLast[inter..]), Is.GreaterThan(1e-3), "layer 1 sees the steered layer 0");
    }

    [TestCase(TensorDType.BF16)]
    [TestCase(TensorDType.F16)]
    public void HalfPrecisionCheckpoints_ExportToTheLogitsOfTheirFloat32Upcast(TensorDType dtype)
    {
        var shape = CheckpointShapes.Tiny;
        var half = TestCheckpoints.Folder(shape, dtype: dtype);
        var upcast = TestCheckpoints.NewFolder("upcast");
        Directory.CreateDirectory(upcast);
        using (var checkpoint = Checkpoint.Open(half))
        {
            var tensors = Qwen3Weights.Expected(checkpoint.Config)
                .Select(t => TensorData.FromFloat32(t.Name, TensorDType.F32, t.Shape, checkpoint.ReadFloat32(t.Name)));
            SafeTensorsWriter.Write(Path.Combine(upcast, Checkpoint.SingleWeightsFile), tensors);
        }
        foreach (var file in new[] { Checkpoint.ConfigFile, Checkpoint.TokenizerFile, Checkpoint.TokenizerConfigFile, Checkpoint.GenerationConfigFile })
            File.Copy(Path.Combine(half, file), Path.Combine(upcast, file));

        var halfExport = TestCheckpoints.NewFolder("half-export");
        var upcastExport = TestCheckpoints.NewFolder("upcast-export");
        Qwen3Exporter.Export(half, halfExport);
        Qwen3Exporter.Export(upcast, upcastExport);
        float[] Logits(string folder)
        {
            using var model = AdaRas.Engine.LanguageModel.Load(folder);
            using var generator = new Generator(model, new GeneratorParams { MaxLength = 32 });
            generator.AppendTokens(Prompt, LogitsScope.All);
            return generator.AllLogits.ToArray();
        }
        Assert.That(Logits(halfExport), Is.EqualTo(Logits(upcastExport)));
        Assert.That(Manifest(halfExport).SourceDType, Is.EqualTo(dtype.ToString().ToLowerInvariant()));
        Assert.That(Manifest(halfExport).ModelId, Is.EqualTo(Manifest(upcastExport).ModelId), "identity is of the values, not the storage dtype");
    }

    static ModelManifest Manifest(string folder) => ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));

    [Test]
    public void ExternalData_GivesTheSameLogitsAsInlineWeights()
    {
        var shape = CheckpointShapes.Tiny;
        var external = TestExports.Folder(shape, external: ExternalDataMode.Always);
        Assert.That(File.Exists(Path.Combine(external, Qwen3Exporter.ExternalDataFile)), Is.True);
        Assert.That(File.Exists(Path.Combine(TestExports.Folder(shape), Qwen3Exporter.ExternalDataFile)), Is.False, "tiny models stay inline by default");
        float[] Logits(string folder)
        {
            using var model = AdaRas.Engine.LanguageModel.Load(folder);
            using var generator = new Generator(model, new GeneratorParams { MaxLength = 32 });
            generator.AppendTokens(Prompt, LogitsScope.All);
            return generator.AllLogits.ToArray();
        }
        Assert.That(Logits(external), Is.EqualTo(Logits(TestExports.Folder(shape))));
    }
}
