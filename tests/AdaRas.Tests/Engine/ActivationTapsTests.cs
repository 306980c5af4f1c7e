using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Model.Synthetic;
using AdaRas.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace AdaRas.Tests.Engine;

/// <summary>
/// ActivationTaps = false skips the taps inside the graph (its If on taps_enabled): the logits and tokens must not
/// change, stale taps must not be readable, and taps turned back on must be those of a run that never turned them off.
/// </summary>
public class ActivationTapsTests
{
    static readonly int[] Prompt = Enumerable.Range(0, 11).Select(i => (i * 29 + 5) % 250).ToArray();

    static SteeringTensors Shifted(AdaRas.Engine.LanguageModel model)
    {
        var steering = SteeringTensors.Create(model.Manifest);
        for (int l = 0; l < model.Manifest.NumLayers; l++)
            for (int i = l; i < model.Manifest.IntermediateSize; i += 4) steering.Shift(l)[i] = 1.5f;
        return steering;
    }

    [Test]
    public void TapsOff_LeaveLogitsAndTokensAlone_AndStaleTapsCannotBeRead()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.TinyUntied));
        using var steering = Shifted(model);
        var parameters = new GeneratorParams { MaxNewTokens = 8, StopTokenIds = [] };
        using var on = new Generator(model, parameters) { Steering = steering };
        using var off = new Generator(model, parameters) { Steering = steering, ActivationTaps = false };
        on.AppendTokens(Prompt);
        off.AppendTokens(Prompt);
        while (!on.IsDone)
        {
            Assert.That(off.Logits.ToArray(), Is.EqualTo(on.Logits.ToArray()), $"logits after {on.GeneratedCount} tokens");
            on.GenerateNextToken();
            off.GenerateNextToken();
        }
        Assert.That(off.Sequence, Is.EqualTo(on.Sequence));
        Assert.That(on.MlpLast.ToArray().Any(v => v != 0), "the control run has taps");
        var e = Assert.Throws<InvalidOperationException>(() => _ = off.MlpLast.Length);
        Assert.That(e!.Message, Does.Contain("ActivationTaps"));
        Assert.Throws<InvalidOperationException>(() => _ = off.MlpSum.Length);
        Assert.Throws<InvalidOperationException>(() => _ = off.Features.Length);
    }

    [Test]
    public void TapsTurnedBackOn_AreThoseOfARunThatNeverTurnedThemOff()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(CheckpointShapes.TinyUntied));
        long inter = model.Manifest.IntermediateSize;
        long[] features = [3, inter + 7, 2 * inter + 1];
        var parameters = new GeneratorParams { MaxNewTokens = 6, StopTokenIds = [] };
        using var always = new Generator(model, parameters);
        using var toggled = new Generator(model, parameters) { ActivationTaps = false };
        foreach (var g in new[] { always, toggled }) g.SetFeatureIndices(features);
        always.AppendTokens(Prompt);
        toggled.AppendTokens(Prompt);
        for (int step = 0; step < 4; step++)
        {
            toggled.ActivationTaps = step % 2 == 1; // off, on, off, on: each switch rebinds the outputs
            always.GenerateNextToken();
            toggled.GenerateNextToken();
            if (!toggled.ActivationTaps) continue;
            string at = $"step {step}";
            Assert.That(toggled.MlpLast.ToArray(), Is.EqualTo(always.MlpLast.ToArray()), at);
            Assert.That(toggled.MlpSum.ToArray(), Is.EqualTo(always.MlpSum.ToArray()), at);
            Assert.That(toggled.MlpSumCount, Is.EqualTo(1), at);
            Assert.That(toggled.Features.ToArray(), Is.EqualTo(always.Features.ToArray()), at);
            Assert.That(toggled.Features.Length, Is.EqualTo(features.Length), at);
        }
    }

    [Test]
    public void TheGraphSkipsTheTaps_WhenTapsEnabledIsFalse()
    {
        var folder = TestExports.Folder(CheckpointShapes.TinyUntied);
        var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        using var session = new InferenceSession(Path.Combine(folder, manifest.GraphFile));
        Assert.That(session.OverridableInitializerMetadata.Keys, Does.Contain(GraphNames.TapsEnabled), "an input with an identity default");
        var kv = session.InputMetadata.Where(i => i.Key.StartsWith("past_key_values.")).ToArray();
        foreach (bool enabled in new[] { true, false })
        {
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor(GraphNames.InputIds, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 1, 2, 3 }, [1, 3])),
                NamedOnnxValue.CreateFromTensor(GraphNames.AttentionMask, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 1, 1, 1 }, [1, 3])),
                NamedOnnxValue.CreateFromTensor(GraphNames.TapsEnabled, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<bool>(new[] { enabled }, [1])),
            };
            foreach (var (name, meta) in kv)
                inputs.Add(NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>([1, (int)meta.Dimensions[1], 0, (int)meta.Dimensions[3]])));
            using var outputs = session.Run(inputs, [GraphNames.Logits, GraphNames.TapLast, GraphNames.TapSum]);
            var last = outputs.First(o => o.Name == GraphNames.TapLast).AsTensor<float>();
            Assert.That(last.Dimensions[0], Is.EqualTo(enabled ? 1 : 0), $"mlp.last batch with taps_enabled={enabled}");
            Assert.That(outputs.First(o => o.Name == GraphNames.Logits).AsTensor<float>().Length, Is.GreaterThan(0));
        }
    }
}
