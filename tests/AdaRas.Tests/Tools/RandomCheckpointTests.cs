using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Tools;

internal class RandomCheckpointTests
{
    static IEnumerable<CheckpointShape> TinyShapes() => [CheckpointShapes.Tiny, CheckpointShapes.TinyUntied, CheckpointShapes.TinyMqa];

    static JsonObject ReadJson(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    [Test]
    public void TinyShapes_CoverTheConfigurationsThatCatchMistakes()
    {
        var tiny = CheckpointShapes.Tiny;
        var untied = CheckpointShapes.TinyUntied;
        var mqa = CheckpointShapes.TinyMqa;
        Assert.Multiple(() =>
        {
            Assert.That(tiny.HeadDim, Is.Not.EqualTo(tiny.Hidden / tiny.Heads), "head_dim must not be derivable from hidden/heads");
            Assert.That(untied.HeadDim * untied.Heads, Is.Not.EqualTo(untied.Hidden));
            Assert.That(tiny.Heads / tiny.KvHeads, Is.EqualTo(2));
            Assert.That(untied.Heads / untied.KvHeads, Is.EqualTo(3));
            Assert.That(mqa.KvHeads, Is.EqualTo(1));
            Assert.That((tiny.Tied, untied.Tied, mqa.Tied), Is.EqualTo((true, false, true)));
            foreach (var s in TinyShapes())
            {
                Assert.That(s.VocabSize % 16, Is.Zero, s.Name);
                Assert.That(s.VocabSize, Is.GreaterThan(TinyTokenizer.TokenCount), $"{s.Name}: some ids must have no token");
                Assert.That(s.Hidden, Is.InRange(32, 64), s.Name);
                Assert.That(s.Layers, Is.InRange(2, 3), s.Name);
            }
        });
    }

    [Test]
    public void RealShapes_AreQwen3s()
    {
        var small = CheckpointShapes.Get("Qwen3-0.6B");
        Assert.That((small.Layers, small.Hidden, small.Intermediate, small.Heads, small.KvHeads, small.HeadDim, small.VocabSize, small.Tied),
            Is.EqualTo((28, 1024, 3072, 16, 8, 128, 151936, true)));
        Assert.That((small.RopeTheta, small.RmsEps, small.MaxPositions), Is.EqualTo((1e6, 1e-6, 40960)));
        // Qwen3-0.6B is published as 0.6B parameters, 0.44B of them outside the embedding.
        Assert.That(small.ParameterCount, Is.EqualTo(596_049_920));
        Assert.That(small.ParameterCount - 151936L * 1024, Is.InRange(430_000_000, 450_000_000));

        var large = CheckpointShapes.Get("qwen3_1_7b");
        Assert.That((large.Layers, large.Hidden, large.Intermediate, large.Heads, large.KvHeads, large.HeadDim, large.Tied),
            Is.EqualTo((28, 2048, 6144, 16, 8, 128, true)));
        Assert.That(large.DefaultDType, Is.EqualTo(TensorDType.BF16));
        Assert.That(large.ParameterCount, Is.InRange(1_650_000_000, 1_750_000_000));
        Assert.Throws<UsageException>(() => CheckpointShapes.Get("qwen3-8b"));
    }

    [Test]
    public void Write_IsDeterministicInTheSeed()
    {
        var a = TestCheckpoints.NewFolder("a");
        var b = TestCheckpoints.NewFolder("b");
        var c = TestCheckpoints.NewFolder("c");
        RandomCheckpoint.Write(a, CheckpointShapes.TinyMqa, seed: 5);
        RandomCheckpoint.Write(b, CheckpointShapes.TinyMqa, seed: 5);
        RandomCheckpoint.Write(c, CheckpointShapes.TinyMqa, seed: 6);
        foreach (var file in Directory.GetFiles(a).Select(Path.GetFileName))
            Assert.That(File.ReadAllBytes(Path.Combine(b, file!)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, file!))), file);
        var weights = Checkpoint.SingleWeightsFile;
        Assert.That(File.ReadAllBytes(Path.Combine(c, weights)), Is.Not.EqualTo(File.ReadAllBytes(Path.Combine(a, weights))));
    }

    [Test]
    public void Write_FirstDrawsArePinned()
    {
        // Guards against accidental changes to the generator: checkpoints and recorded results would silently change.
        var norm = RandomCheckpoint.Values(CheckpointShapes.Tiny, 1, "model.norm.weight");
        var embedding = RandomCheckpoint.Values(CheckpointShapes.Tiny, 1, "model.embed_tokens.weight");
        Assert.That(new[] { norm[0], norm[1], embedding[0] }, Is.EqualTo(PinnedDraws));
    }

    static readonly float[] PinnedDraws = [1.1002749f, 1.0941727f, -0.50207716f];

    [Test]
    public void Write_ProducesTheHuggingFaceFiles()
    {
        var folder = TestCheckpoints.Folder(CheckpointShapes.TinyUntied, dtype: TensorDType.BF16);
        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" }));

        var config = ReadJson(Path.Combine(folder, "config.json"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)config["model_type"], Is.EqualTo("qwen3"));
            Assert.That((string?)config["torch_dtype"], Is.EqualTo("bfloat16"));
            Assert.That((int?)config["head_dim"], Is.EqualTo(CheckpointShapes.TinyUntied.HeadDim));
            Assert.That((bool?)config["tie_word_embeddings"], Is.False);
            Assert.That((double?)config["rms_norm_eps"], Is.EqualTo(1e-5));
            Assert.That((int?)config["eos_token_id"], Is.EqualTo(TinyTokenizer.IdOf(TinyTokenizer.ImEnd)));
        });
        var generation = GenerationConfig.Load(Path.Combine(folder, "generation_config.json"));
        Assert.That(generation.EosTokenIds,
            Is.EqualTo(new[] { TinyTokenizer.IdOf(TinyTokenizer.ImEnd), TinyTokenizer.IdOf(TinyTokenizer.EndOfText) }));

        using var weights = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        Assert.That(weights.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(weights.Tensors.Keys, Does.Contain("lm_head.weight"));
        Assert.That(weights.Tensors.Values.Select(t => t.DType).Distinct(), Is.EqualTo(new[] { TensorDType.BF16 }));
        // HF layout: tensors in name order, packed back to back from offset 0.
        var ordered = weights.Tensors.Values.OrderBy(t => t.Begin).ToList();
        Assert.That(ordered.Select(t => t.Name), Is.EqualTo(ordered.Select(t => t.Name).Order(StringComparer.Ordinal)));
        for (int i = 1; i < ordered.Count; i++) Assert.That(ordered[i].Begin, Is.EqualTo(ordered[i - 1].End));
    }

    [Test]
    public void Write_ShardsLikeHuggingFace()
    {
        var folder = TestCheckpoints.Folder(CheckpointShapes.Tiny, shards: 3);
        var shardFiles = Directory.GetFiles(folder, "*.safetensors").Select(Path.GetFileName).Order().ToArray();
        Assert.That(shardFiles, Is.EqualTo(new[] { "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors" }));

        var index = ReadJson(Path.Combine(folder, Checkpoint.IndexFile));
        var map = index["weight_map"]!.AsObject().ToDictionary(kv => kv.Key, kv => (string)kv.Value!);
        var expected = Qwen3Weights.Expected(CheckpointShapes.Tiny.ToConfig(TensorDType.F32)).Select(t => t.Name);
        Assert.That(map.Keys, Is.EquivalentTo(expected));
        long totalBytes = 0;
        foreach (var file in shardFiles)
        {
            using var shard = SafeTensorsFile.Open(Path.Combine(folder, file!));
            Assert.That(shard.Tensors, Is.Not.Empty, file);
            Assert.That(shard.Tensors.Keys, Is.EquivalentTo(map.Where(kv => kv.Value == file).Select(kv => kv.Key)), file);
            totalBytes += shard.Tensors.Values.Sum(t => t.ByteLength);
        }
        Assert.That((long)index["metadata"]!["total_size"]!, Is.EqualTo(totalBytes));
    }

    [Test]
    public void Write_ValuesDoNotDependOnShardingOrOrder()
    {
        using var single = Checkpoint.Open(TestCheckpoints.Folder(CheckpointShapes.TinyUntied));
        using var sharded = Checkpoint.Open(TestCheckpoints.Folder(CheckpointShapes.TinyUntied, shards: 4));
        foreach (var (name, _) in Qwen3Weights.Expected(single.Config))
            Assert.That(sharded.ReadFloat32(name), Is.EqualTo(single.ReadFloat32(name)), name);
    }

    [Test]
    public void Write_RefusesToReplaceAFolderUnlessAsked()
    {
        var folder = TestCheckpoints.NewFolder("exists");
        RandomCheckpoint.Write(folder, CheckpointShapes.TinyMqa, seed: 1);
        var ex = Assert.Throws<IOException>(() => RandomCheckpoint.Write(folder, CheckpointShapes.TinyMqa, seed: 2));
        Assert.That(ex!.Message, Does.Contain(Path.GetFileName(folder)));
        RandomCheckpoint.Write(folder, CheckpointShapes.TinyMqa, seed: 2, overwrite: true);
        using var checkpoint = Checkpoint.Open(folder);
        Assert.That(checkpoint.ReadFloat32("model.norm.weight"), Is.EqualTo(RandomCheckpoint.Values(CheckpointShapes.TinyMqa, 2, "model.norm.weight")));
        Assert.That(Directory.GetDirectories(Path.GetDirectoryName(folder)!).Where(d => d.Contains(Path.GetFileName(folder) + ".")), Is.Empty,
            "no temporary folders may be left behind");
    }

    [Test]
    public void Write_InitialisesEachKindOfWeightAtItsScale()
    {
        var shape = CheckpointShapes.TinyUntied;
        (double Mean, double Std) Stats(string name)
        {
            var v = RandomCheckpoint.Values(shape, 3, name);
            double mean = v.Average(x => (double)x);
            return (mean, Math.Sqrt(v.Average(x => (x - mean) * (x - mean))));
        }
        var norm = Stats("model.layers.1.post_attention_layernorm.weight");
        var down = Stats("model.layers.1.mlp.down_proj.weight");
        var oProj = Stats("model.layers.0.self_attn.o_proj.weight");
        var gate = Stats("model.layers.2.mlp.gate_proj.weight");
        var head = Stats("lm_head.weight");
        Assert.Multiple(() =>
        {
            Assert.That(norm.Mean, Is.EqualTo(1).Within(0.05)); Assert.That(norm.Std, Is.EqualTo(0.1).Within(0.03));
            Assert.That(down.Std, Is.EqualTo(1 / Math.Sqrt(shape.Intermediate)).Within(0.01));
            Assert.That(oProj.Std, Is.EqualTo(1 / Math.Sqrt(shape.Heads * shape.HeadDim)).Within(0.01));
            Assert.That(gate.Std, Is.EqualTo(1 / Math.Sqrt(shape.Hidden)).Within(0.01));
            Assert.That(head.Std, Is.EqualTo(RandomCheckpoint.LogitSpread / Math.Sqrt(shape.Hidden)).Within(0.02));
        });
    }

    /// <summary>Logits must spread over several units so greedy decoding has clear winners, not near-ties.</summary>
    [TestCaseSource(nameof(TinyShapes))]
    public void RandomModels_HaveDecisiveLogits(CheckpointShape shape)
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(shape));
        var model = ReferenceModel.Load(checkpoint);
        var random = new Random(11);
        var tokens = Enumerable.Range(0, 24).Select(_ => random.Next(TinyTokenizer.BpeVocabSize)).ToArray();
        var logits = model.NewSession().Forward(tokens);
        var spreads = new List<double>();
        var gaps = new List<double>();
        foreach (var row in logits)
        {
            double mean = row.Average(x => (double)x);
            spreads.Add(Math.Sqrt(row.Average(x => (x - mean) * (x - mean))));
            var top = row.OrderDescending().Take(2).ToArray();
            gaps.Add(top[0] - top[1]);
        }
        TestContext.Out.WriteLine($"{shape.Name}: logit std {spreads.Min():F2}..{spreads.Max():F2}, top-2 gap min {gaps.Min():F3} median {gaps.Order().ElementAt(gaps.Count / 2):F3}");
        Assert.That(spreads.Min(), Is.GreaterThan(1.5));
        Assert.That(spreads.Max(), Is.LessThan(10));
        Assert.That(gaps.Order().ElementAt(gaps.Count / 2), Is.GreaterThan(0.2), "median gap between the two best tokens");
        Assert.That(gaps.Min(), Is.GreaterThan(1e-3), "no position may be a near-tie that float32 rounding could flip");
    }
}
