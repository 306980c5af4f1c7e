using System.Text.Json.Nodes;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;
using Onnx;

namespace AdaRas.Tests.Export;

/// <summary>What an export folder contains, and that bad input leaves nothing behind.</summary>
public class ExportFolderTests
{
    [Test]
    public void Folder_HoldsGraphTokenizerGenAiConfigAndManifest()
    {
        var folder = TestExports.Folder(CheckpointShapes.TinyUntied);
        foreach (var file in new[] { "model.onnx", "genai_config.json", "manifest.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.That(File.Exists(Path.Combine(folder, file)), Is.True, file);

        var m = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        var shape = CheckpointShapes.TinyUntied;
        Assert.Multiple(() =>
        {
            Assert.That(m.NumLayers, Is.EqualTo(shape.Layers));
            Assert.That(m.HiddenSize, Is.EqualTo(shape.Hidden));
            Assert.That(m.IntermediateSize, Is.EqualTo(shape.Intermediate));
            Assert.That(m.NumAttentionHeads, Is.EqualTo(shape.Heads));
            Assert.That(m.NumKeyValueHeads, Is.EqualTo(shape.KvHeads));
            Assert.That(m.HeadDim, Is.EqualTo(shape.HeadDim));
            Assert.That(m.VocabSize, Is.EqualTo(shape.VocabSize));
            Assert.That(m.RopeTheta, Is.EqualTo(shape.RopeTheta));
            Assert.That(m.RmsNormEps, Is.EqualTo(shape.RmsEps));
            Assert.That(m.Precision, Is.EqualTo("fp32"));
            Assert.That(m.Steerable, Is.True);
            Assert.That(m.ModelId, Does.StartWith("qwen3-3x80-"));
        });
        string[] inputs = [.. m.Inputs.Select(i => i.Name)];
        string[] outputs = [.. m.Outputs.Select(o => o.Name)];
        Assert.That(inputs, Does.Contain("input_ids").And.Contain("attention_mask").And.Contain("past_key_values.2.value")
            .And.Contain("steering.0.scale").And.Contain("steering.2.shift").And.Contain("features.1.indices").And.Contain("steering_from"));
        Assert.That(outputs, Does.Contain("logits").And.Contain("present.0.key").And.Contain("mlp.last").And.Contain("mlp.sum").And.Contain("mlp.features"));
        var last = m.Outputs.Single(o => o.Name == GraphNames.TapLast);
        Assert.That(last.Shape.Select(d => d.ToString()), Is.EqualTo(new[] { "batch_size", shape.Layers.ToString(), shape.Intermediate.ToString() }));

        var genai = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "genai_config.json")))!;
        Assert.That(genai["model"]!["type"]!.GetValue<string>(), Is.EqualTo("qwen3"));
        Assert.That(genai["model"]!["decoder"]!["head_size"]!.GetValue<int>(), Is.EqualTo(shape.HeadDim));
        Assert.That(genai["search"]!["past_present_share_buffer"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public void Fp16Export_StoresHalfWeightsAndKeepsSteeringAndTapsFloat32()
    {
        var folder = TestExports.Folder(CheckpointShapes.Tiny, precision: ExportPrecision.Fp16);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "model.onnx")));
        var init = model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.That(init[Qwen3Weights.Embedding].DataType, Is.EqualTo((int)TensorProto.Types.DataType.Float16));
        Assert.That(init[GraphNames.SteeringScale(0)].DataType, Is.EqualTo((int)TensorProto.Types.DataType.Float));
        var m = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        Assert.That(m.Precision, Is.EqualTo("fp16"));
        Assert.That(m.Inputs.Single(i => i.Name == GraphNames.PastKey(0)).DType, Is.EqualTo("float16"));
        Assert.That(m.Outputs.Single(o => o.Name == GraphNames.Logits).DType, Is.EqualTo("float"));
        Assert.That(m.Outputs.Single(o => o.Name == GraphNames.TapSum).DType, Is.EqualTo("float"));
        var genai = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "genai_config.json")))!;
        Assert.That(genai["model"]!["decoder"]!["session_options"]!["provider_options"]![0]!["cuda"], Is.Not.Null);
    }

    [Test]
    public void Fp16Export_RunsOnTheCpuProviderAndTracksFp32()
    {
        // ONNX Runtime's CPU provider runs the fp16 graph too, so the CUDA precision is checked here, to fp16 accuracy.
        var shape = CheckpointShapes.Tiny;
        int[] prompt = [5, 17, 42, 99, 3, 150, 7];
        float[] Logits(string folder)
        {
            using var model = AdaRas.Engine.LanguageModel.Load(folder);
            using var generator = new AdaRas.Engine.Generator(model, new AdaRas.Engine.GeneratorParams { MaxLength = 16 });
            generator.AppendTokens(prompt, AdaRas.Engine.LogitsScope.All);
            generator.AppendTokens([11]);
            return generator.AllLogits.ToArray().Concat(generator.Logits.ToArray()).ToArray();
        }
        var half = Logits(TestExports.Folder(shape, precision: ExportPrecision.Fp16));
        var full = Logits(TestExports.Folder(shape));
        Assert.That(Compare.RelativeError(half, full), Is.LessThan(2e-2));
        Assert.That(Compare.RelativeError(half, full), Is.GreaterThan(0), "the fp16 graph really computes in half precision");
    }

    static void AssertNothingLeftBehind(string output)
    {
        Assert.That(Directory.Exists(output), Is.False, "no output folder");
        var parent = Path.GetDirectoryName(output)!;
        if (Directory.Exists(parent))
            Assert.That(Directory.GetDirectories(parent, Path.GetFileName(output) + ".tmp-*"), Is.Empty, "no temporary folder");
    }

    [Test]
    public void MissingTensor_FailsNamingItAndLeavesNoFolder()
    {
        var source = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        List<TensorData> tensors;
        using (var checkpoint = Checkpoint.Open(source))
            tensors = Qwen3Weights.Expected(checkpoint.Config).Where(t => t.Name != "model.layers.1.mlp.up_proj.weight")
                .Select(t => TensorData.FromFloat32(t.Name, TensorDType.F32, t.Shape, checkpoint.ReadFloat32(t.Name))).ToList();
        SafeTensorsWriter.Write(Path.Combine(source, Checkpoint.SingleWeightsFile), tensors);
        var output = TestCheckpoints.NewFolder("bad-export");
        var e = Assert.Throws<ModelFormatException>(() => Qwen3Exporter.Export(source, output))!;
        Assert.That(e.Message, Does.Contain("model.layers.1.mlp.up_proj.weight").And.Contain("model.safetensors"));
        AssertNothingLeftBehind(output);
    }

    [Test]
    public void MissingTokenizer_IsAnError()
    {
        var source = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        File.Delete(Path.Combine(source, Checkpoint.TokenizerFile));
        var output = TestCheckpoints.NewFolder("no-tokenizer");
        var e = Assert.Throws<ModelFormatException>(() => Qwen3Exporter.Export(source, output))!;
        Assert.That(e.Message, Does.Contain("tokenizer.json"));
        AssertNothingLeftBehind(output);
    }

    [Test]
    public void HeadDimThatGroupQueryAttentionCannotRun_IsAnError()
    {
        var source = TestCheckpoints.NewFolder("head-dim-8");
        RandomCheckpoint.Write(source, CheckpointShapes.Tiny with { Name = "tiny-hd8", HeadDim = 8 }, seed: 1);
        var output = TestCheckpoints.NewFolder("head-dim-8-export");
        var e = Assert.Throws<ModelFormatException>(() => Qwen3Exporter.Export(source, output))!;
        Assert.That(e.Message, Does.Contain("head_dim 8").And.Contain("config.json"));
        AssertNothingLeftBehind(output);
    }

    [Test]
    public void ExistingOutput_IsNotOverwrittenUnlessAsked()
    {
        var source = TestCheckpoints.Folder(CheckpointShapes.Tiny);
        var output = TestCheckpoints.NewFolder("existing");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");
        Assert.Throws<IOException>(() => Qwen3Exporter.Export(source, output));
        Assert.That(File.ReadAllText(Path.Combine(output, "keep.txt")), Is.EqualTo("mine"));

        Qwen3Exporter.Export(source, output, new ExportOptions { Overwrite = true });
        Assert.That(File.Exists(Path.Combine(output, "keep.txt")), Is.False);
        Assert.That(File.Exists(Path.Combine(output, "model.onnx")), Is.True);
    }

    [Test]
    public void ShardedCheckpoint_ExportsTheSameModel()
    {
        var shape = CheckpointShapes.TinyUntied;
        var sharded = TestCheckpoints.Folder(shape, shards: 3);
        var output = TestCheckpoints.NewFolder("sharded-export");
        var result = Qwen3Exporter.Export(sharded, output);
        var single = ModelManifest.Load(Path.Combine(TestExports.Folder(shape), ModelManifest.FileName));
        Assert.That(result.Manifest.ModelId, Is.EqualTo(single.ModelId));
    }
}
