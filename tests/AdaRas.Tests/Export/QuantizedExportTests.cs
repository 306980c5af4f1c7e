using AdaRas.Engine;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;
using Onnx;

namespace AdaRas.Tests.Export;

/// <summary>
/// int8/int4 exports: the same graph contract as fp32, and exactly the fp32 model of the dequantized weights (at
/// accuracy_level 1, float compute) — which checks every projection's packing, the q/k/v and gate/up row order,
/// the in-graph embedding dequantization and the shared tied table in one comparison.
/// </summary>
internal class QuantizedExportTests
{
    static readonly int[] Prompt = [5, 17, 42, 99, 3, 150, 7, 64, 12, 200, 31];

    static string QuantizedExport(CheckpointShape shape, ExportPrecision precision, AccuracyLevels levels, string? source = null)
    {
        var output = TestCheckpoints.NewFolder($"export-{shape.Name}-{precision}");
        Qwen3Exporter.Export(source ?? TestCheckpoints.Folder(shape), output,
            new ExportOptions { Precision = precision, AccuracyLevels = levels });
        return output;
    }

    static string Fp32Export(string checkpoint)
    {
        var output = TestCheckpoints.NewFolder("export-dequantized");
        Qwen3Exporter.Export(checkpoint, output);
        return output;
    }

    /// <summary>A copy of the checkpoint whose projections and embeddings are replaced by their dequantized values.</summary>
    static string DequantizedCheckpoint(CheckpointShape shape, int bits)
    {
        var folder = TestCheckpoints.CopyOf(shape);
        List<TensorData> tensors;
        using (var checkpoint = Checkpoint.Open(folder))
            tensors = Qwen3Weights.Expected(checkpoint.Config).Select(t =>
            {
                var values = checkpoint.ReadFloat32(t.Name);
                if (t.Shape.Length == 2)
                    values = BlockQuantizer.Quantize(values, (int)t.Shape[0], (int)t.Shape[1], bits, 32).Dequantize();
                return TensorData.FromFloat32(t.Name, TensorDType.F32, t.Shape, values);
            }).ToList();
        SafeTensorsWriter.Write(Path.Combine(folder, Checkpoint.SingleWeightsFile), tensors);
        return folder;
    }

    sealed record Run(float[] Prefill, float[] Decode, float[] SteeredDecode, float[] MlpLast);

    static Run RunModel(string folder)
    {
        using var model = AdaRas.Engine.LanguageModel.Load(folder);
        using var generator = new Generator(model, new GeneratorParams { MaxLength = 32 });
        generator.AppendTokens(Prompt, LogitsScope.All);
        var prefill = generator.AllLogits.ToArray();
        var mlpLast = generator.MlpLast.ToArray();
        generator.AppendTokens([11]);
        var decode = generator.Logits.ToArray();

        using var steering = SteeringTensors.Create(model.Manifest);
        for (int j = 0; j < 8; j++) steering.Shift(model.Manifest.NumLayers - 1)[j * 3] = 2f;
        steering.Scale(0)[1] = -1f;
        generator.Steering = steering;
        generator.AppendTokens([23]);
        return new Run(prefill, decode, generator.Logits.ToArray(), mlpLast);
    }

    [TestCase("tiny", ExportPrecision.Int4), TestCase("tiny", ExportPrecision.Int8),
     TestCase("tiny-untied", ExportPrecision.Int4), TestCase("tiny-untied", ExportPrecision.Int8)]
    public void QuantizedGraph_IsTheFp32ModelOfTheDequantizedWeights(string shapeName, ExportPrecision precision)
    {
        var shape = CheckpointShapes.Get(shapeName);
        int bits = precision == ExportPrecision.Int4 ? 4 : 8;
        var quantized = RunModel(QuantizedExport(shape, precision, AccuracyLevels.All(1)));
        var reference = RunModel(Fp32Export(DequantizedCheckpoint(shape, bits)));
        Assert.Multiple(() =>
        {
            Assert.That(Compare.RelativeError(quantized.Prefill, reference.Prefill), Is.LessThan(1e-4), "prefill logits");
            Assert.That(Compare.RelativeError(quantized.Decode, reference.Decode), Is.LessThan(1e-4), "decode logits");
            Assert.That(Compare.RelativeError(quantized.SteeredDecode, reference.SteeredDecode), Is.LessThan(1e-4), "steered decode logits");
            Assert.That(Compare.RelativeError(quantized.MlpLast, reference.MlpLast), Is.LessThan(1e-4), "mlp.last tap");
        });
        // And the quantization is real: the original fp32 model differs.
        var fp32 = RunModel(TestExports.Folder(shape));
        Assert.That(Compare.RelativeError(quantized.Prefill, fp32.Prefill), Is.GreaterThan(1e-3));
        // Steering acts at this precision (the steered step differs from an unsteered one is checked by the reference).
        Assert.That(Compare.RelativeError(quantized.SteeredDecode, reference.Decode), Is.GreaterThan(1e-3));
    }

    [TestCase(ExportPrecision.Int4), TestCase(ExportPrecision.Int8)]
    public void Int8Compute_StaysCloseToFloatCompute(ExportPrecision precision)
    {
        var shape = CheckpointShapes.Tiny;
        var exact = RunModel(QuantizedExport(shape, precision, AccuracyLevels.All(1)));
        var fast = RunModel(QuantizedExport(shape, precision, AccuracyLevels.All(4)));
        Assert.That(Compare.RelativeError(fast.Prefill, exact.Prefill), Is.LessThan(0.05));
        Assert.That(Compare.RelativeError(fast.Prefill, exact.Prefill), Is.GreaterThan(0), "level 4 really computes in int8");
    }

    [TestCase(ExportPrecision.Int4), TestCase(ExportPrecision.Int8)]
    public void Manifest_HasTheFp32GraphContract(ExportPrecision precision)
    {
        foreach (var shape in new[] { CheckpointShapes.Tiny, CheckpointShapes.TinyUntied })
        {
            var q = ModelManifest.Load(Path.Combine(QuantizedExport(shape, precision, AccuracyLevels.Default), ModelManifest.FileName));
            var f = ModelManifest.Load(Path.Combine(TestExports.Folder(shape), ModelManifest.FileName));
            Assert.That(q.Precision, Is.EqualTo(precision.ToString().ToLowerInvariant()));
            static string Describe(TensorSpec t) => $"{t.Name}:{t.DType}:{string.Join(",", t.Shape.Select(d => d.ToString()))}";
            Assert.That(q.Inputs.Select(Describe), Is.EqualTo(f.Inputs.Select(Describe)), shape.Name);
            Assert.That(q.Outputs.Select(Describe), Is.EqualTo(f.Outputs.Select(Describe)), shape.Name);
        }
    }

    [Test]
    public void AccuracyLevels_AreSetPerProjectionKind()
    {
        var levels = AccuracyLevels.Parse("4,down_proj=1,lm_head=0");
        Assert.That(levels, Is.EqualTo(new AccuracyLevels(4, 4, 4, 1, 0)));
        var folder = QuantizedExport(CheckpointShapes.Tiny, ExportPrecision.Int4, levels);
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, Qwen3Exporter.GraphFile))).Graph;
        var nodes = graph.Node.Where(n => n.OpType == "MatMulNBits").ToList();
        Assert.That(nodes, Has.Count.EqualTo(2 * 4 + 1), "qkv, o, gate_up, down per layer, and lm_head");
        Assert.That(graph.Node.Any(n => n.OpType == "MatMul"), Is.False, "every projection is quantized");
        foreach (var node in nodes)
        {
            long level = node.Attribute.Single(a => a.Name == "accuracy_level").I;
            long expected = node.Name.Contains("down_proj") ? 1 : node.Name.Contains("lm_head") ? 0 : 4;
            Assert.That(level, Is.EqualTo(expected), node.Name);
            Assert.That(node.Attribute.Single(a => a.Name == "block_size").I, Is.EqualTo(32));
        }
        Assert.Throws<UsageException>(() => AccuracyLevels.Parse("4,up_proj=1"));
        Assert.Throws<UsageException>(() => AccuracyLevels.Parse("5"));
    }

    [TestCase(ExportPrecision.Fp32), TestCase(ExportPrecision.Int4), TestCase(ExportPrecision.Int8)]
    public void TiedEmbedding_IsStoredOnce(ExportPrecision precision)
    {
        var shape = CheckpointShapes.Tiny;
        var output = TestCheckpoints.NewFolder($"tied-once-{precision}");
        Qwen3Exporter.Export(TestCheckpoints.Folder(shape), output, new ExportOptions { Precision = precision, ExternalData = ExternalDataMode.Always });
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(output, Qwen3Exporter.GraphFile))).Graph;

        // Every tensor in the data file is listed once; a second copy of the table would add vocab x hidden elements.
        long vocabTables = graph.Initializer.Count(t => t.Name is not ("cos_cache" or "sin_cache") && t.Dims.Contains(shape.VocabSize));
        int vocabByHidden = precision == ExportPrecision.Fp32 ? 1 : 2; // quantized: codes + scales
        Assert.That(vocabTables, Is.EqualTo(vocabByHidden), "one vocabulary-sized table");

        // File size: the data file holds every weight once; a second vocab x hidden table does not fit in the slack.
        // Quantized 2-D weights take ceil(K / 32) blocks of codes plus a float32 scale per row; the rest is float32.
        int bits = precision switch { ExportPrecision.Int4 => 4, ExportPrecision.Int8 => 8, _ => 0 };
        long Stored(long[] dims) => bits == 0 || dims.Length != 2 ? dims.Aggregate(4L, (a, b) => a * b)
            : dims[0] * ((dims[1] + 31) / 32) * (32 * bits / 8 + 4);
        long weightsOnce;
        using (var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape)))
            weightsOnce = Qwen3Weights.Expected(checkpoint.Config).Sum(t => Stored(t.Shape));
        long table = Stored([shape.VocabSize, shape.Hidden]);
        long dataBytes = new FileInfo(Path.Combine(output, Qwen3Exporter.ExternalDataFile)).Length;
        long rope = 2L * shape.MaxPositions * (shape.HeadDim / 2) * 4, steering = 2L * shape.Layers * shape.Intermediate * 4;
        Assert.That(dataBytes, Is.LessThan(weightsOnce + rope + steering + table / 2),
            $"{dataBytes} bytes: the vocabulary table ({table} bytes) is stored once");
    }
}
