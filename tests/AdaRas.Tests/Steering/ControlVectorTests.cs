using System.Text.Json;
using AdaRas.Model;
using AdaRas.Steering;
using AdaRas.Steering.ControlVectors;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;
using AdaRas.Steering.Rcn;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Steering;

[TestFixture]
public sealed class ControlVectorTests
{
    const int Seed = 5;
    static readonly CheckpointShape TinyShape = CheckpointShapes.TinyUntied; // 3 layers, hidden 40, intermediate 80

    string _dir = "";
    Checkpoint _checkpoint = null!;
    RcnPattern _pattern = null!;

    int L => TinyShape.Layers;
    int H => TinyShape.Hidden;
    int I => TinyShape.Intermediate;

    [OneTimeSetUp]
    public void MakeCheckpointAndPattern()
    {
        _dir = Directory.CreateTempSubdirectory("adaras-cvec-").FullName;
        var folder = Path.Combine(_dir, "tiny");
        RandomCheckpoint.Write(folder, TinyShape, Seed, TensorDType.F32);
        _checkpoint = Checkpoint.Open(folder);
        _pattern = WritePattern("tiny.csv", minLayer: 1);
    }

    [OneTimeTearDown]
    public void Clean()
    {
        _checkpoint.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    RcnPattern WritePattern(string name, int minLayer)
    {
        var rng = new Random(41);
        var ids = Enumerable.Range(I, (L - 1) * I).OrderBy(_ => rng.Next()).Take(12).ToList();
        if (minLayer == 0) ids[5] = 7; // one neuron in layer 0, on the sixth row
        var ranked = ids.Select((id, k) =>
        {
            float plus = (float)(rng.NextDouble() * 6 - 3), minus = (float)(rng.NextDouble() * 6 - 3);
            return new RankedNeuron(k + 1, id, id / I, id % I, plus, minus, plus - minus, 0.5f);
        }).ToList();
        var path = Path.Combine(_dir, name);
        RcnPattern.Write(path, ranked, new PatternSidecar
        {
            ModelId = "tiny-model", Layers = L, IntermediateSize = I, DatasetName = "synthetic", CorrectTrajectories = 2,
            IncorrectTrajectories = 2, CorrectTokens = 10, IncorrectTokens = 10, Top = ranked.Count, Created = DateTimeOffset.UnixEpoch,
        });
        return RcnPattern.Load(path, new ModelShape(L, I));
    }

    /// <summary>v_l[h] = sum_j shift_j W_down_l[h, j], from the values the checkpoint maker meant to store.</summary>
    float[][] Reference(int k, Func<PatternNeuron, float> shift)
    {
        var v = Enumerable.Range(0, L).Select(_ => new double[H]).ToArray();
        foreach (var n in _pattern.Top(k))
        {
            var w = RandomCheckpoint.Values(TinyShape, Seed, $"model.layers.{n.Layer}.mlp.down_proj.weight");
            for (int h = 0; h < H; h++) v[n.Layer][h] += (double)shift(n) * w[h * I + n.Index];
        }
        return v.Select(layer => layer.Select(x => (float)x).ToArray()).ToArray();
    }

    [TestCase(12, 0.3f)]
    [TestCase(4, -0.2f)]
    public void SteeringAddVectorsAreTheShiftedDownProjColumns(int k, float alpha)
    {
        var cv = ControlVector.FromPattern(_checkpoint, _pattern, k, alpha, SteeringMethod.SteeringAdd);
        var want = Reference(k, n => alpha * n.Delta);
        Assert.That(cv.Layers, Is.EqualTo(L));
        Assert.That(cv.HiddenSize, Is.EqualTo(H));
        for (int l = 0; l < L; l++)
            Assert.That(cv.Directions[l], Is.EqualTo(want[l]).Within(1e-6f), $"layer {l}");
        Assert.That(cv.Directions[0].All(x => x == 0), "nothing is steered in layer 0");
        Assert.That(cv.Directions.Skip(1).Any(d => d.Any(x => x != 0)));
    }

    [Test]
    public void SoftplusAddUsesSoftplusOfMuPlus()
    {
        var cv = ControlVector.FromPattern(_checkpoint, _pattern, 12, 0.1f, SteeringMethod.SoftplusAdd);
        var want = Reference(12, n => 0.1f * (float)ReferenceRcn.Softplus(n.MuPlus!.Value));
        for (int l = 0; l < L; l++) Assert.That(cv.Directions[l], Is.EqualTo(want[l]).Within(1e-5f), $"layer {l}");
    }

    [Test]
    public void AddingTheVectorEqualsShiftingTheNeuronsBeforeDownProj()
    {
        const float alpha = 0.25f;
        var cv = ControlVector.FromPattern(_checkpoint, _pattern, 12, alpha, SteeringMethod.SteeringAdd);
        var rng = new Random(3);
        for (int l = 1; l < L; l++)
        {
            var w = _checkpoint.ReadFloat32($"model.layers.{l}.mlp.down_proj.weight");
            var a = Enumerable.Range(0, I).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var steered = (float[])a.Clone();
            foreach (var n in _pattern.Top(12).Where(n => n.Layer == l)) steered[n.Index] += alpha * n.Delta;
            for (int h = 0; h < H; h++)
            {
                double plain = 0, shifted = 0;
                for (int j = 0; j < I; j++) { plain += w[h * I + j] * a[j]; shifted += w[h * I + j] * steered[j]; }
                Assert.That(plain + cv.Directions[l][h], Is.EqualTo(shifted).Within(1e-5), $"layer {l}, hidden {h}");
            }
        }
    }

    [Test]
    public void GgufFileReadsBackWithAnIndependentReader()
    {
        var cv = ControlVector.FromPattern(_checkpoint, _pattern, 12, 0.3f, SteeringMethod.SteeringAdd);
        var path = Path.Combine(_dir, "tiny.gguf");
        cv.WriteGguf(path, overwrite: true);
        var file = GgufCheck.Read(path);

        Assert.That(file.GetProperty("version").GetInt32(), Is.EqualTo(3));
        Assert.That(file.GetProperty("little_endian").GetBoolean(), Is.True);
        Assert.That(file.GetProperty("tensor_count").GetInt32(), Is.EqualTo(L - 1));
        Assert.That(file.GetProperty("tensor_data_offset").GetInt64() % 32, Is.EqualTo(0));

        var meta = file.GetProperty("metadata");
        void Meta(string key, string type, object value)
        {
            var entry = meta.GetProperty(key);
            Assert.That(entry.GetProperty("type").GetString(), Is.EqualTo(type), key);
            var v = entry.GetProperty("value");
            object got = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetDouble();
            Assert.That(got, Is.EqualTo(value), key);
        }
        Meta("general.architecture", "STRING", "controlvector");
        Meta("controlvector.model_hint", "STRING", "qwen3");
        Meta("controlvector.layer_count", "INT32", (double)(L - 1));
        Meta("adaras.pattern", "STRING", "tiny.csv");
        Meta("adaras.method", "STRING", "steering_add");
        Meta("adaras.alpha", "FLOAT32", (double)0.3f);
        Meta("adaras.neurons", "UINT32", 12.0);
        Meta("adaras.model_id", "STRING", "tiny-model");
        Assert.That(meta.EnumerateObject().Count(), Is.EqualTo(8));

        var tensors = file.GetProperty("tensors").EnumerateArray().ToList();
        Assert.That(tensors.Select(t => t.GetProperty("name").GetString()), Is.EqualTo(Enumerable.Range(1, L - 1).Select(l => $"direction.{l}")));
        foreach (var t in tensors)
        {
            int layer = int.Parse(t.GetProperty("name").GetString()!["direction.".Length..]);
            Assert.That(t.GetProperty("dtype").GetString(), Is.EqualTo("F32"));
            Assert.That(t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()), Is.EqualTo(new[] { H }));
            Assert.That(t.GetProperty("offset").GetInt64() % 32, Is.EqualTo(0));
            var data = t.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
            Assert.That(data, Is.EqualTo(cv.Directions[layer]), $"direction.{layer}");
        }
    }

    [Test]
    public void PlanExportsTheSameVectors()
    {
        using var buffers = new SteeringBuffers(SteeringTestDevice.Cpu, L, I);
        using var plan = SteeringPlan.Create(buffers, _pattern, 9, 0.2f, SteeringMethod.SteeringAdd);
        var fromPlan = ControlVector.FromPlan(_checkpoint, plan);
        var direct = ControlVector.FromPattern(_checkpoint, _pattern, 9, 0.2f, SteeringMethod.SteeringAdd);
        Assert.That(fromPlan.Directions, Is.EqualTo(direct.Directions));

        // The vectors are down_proj applied to the plan's dense shift buffer.
        var shift = buffers.ShiftToHost();
        for (int l = 1; l < L; l++)
        {
            var w = _checkpoint.ReadFloat32($"model.layers.{l}.mlp.down_proj.weight");
            for (int h = 0; h < H; h++)
            {
                double v = 0;
                for (int j = 0; j < I; j++) v += (double)shift[l * I + j] * w[h * I + j];
                Assert.That(fromPlan.Directions[l][h], Is.EqualTo(v).Within(1e-6));
            }
        }
    }

    [Test]
    public void WhatCannotBeAControlVectorIsRefused()
    {
        var blend = Assert.Throws<NotSupportedException>(() => ControlVector.FromPattern(_checkpoint, _pattern, 5, 0.2f, SteeringMethod.LinearBlend));
        Assert.That(blend!.Message, Does.Contain("linear_blend"));

        var layerZero = WritePattern("layer0.csv", minLayer: 0);
        Assert.DoesNotThrow(() => ControlVector.FromPattern(_checkpoint, layerZero, 5, 0.2f, SteeringMethod.SteeringAdd));
        var zero = Assert.Throws<NotSupportedException>(() => ControlVector.FromPattern(_checkpoint, layerZero, 6, 0.2f, SteeringMethod.SteeringAdd));
        Assert.That(zero!.Message, Does.Contain("layer0.csv:7:").And.Contain("layer 0"));

        var paper = PaperPatterns.Find("Mbpp_Qwen3-1.7B").Load();
        Assert.Throws<ArgumentException>(() => ControlVector.FromPattern(_checkpoint, paper, 5, 0.2f, SteeringMethod.SteeringAdd));
        Assert.Throws<ArgumentOutOfRangeException>(() => ControlVector.FromPattern(_checkpoint, _pattern, 5, float.NaN, SteeringMethod.SteeringAdd));
        Assert.Throws<ArgumentOutOfRangeException>(() => ControlVector.FromPattern(_checkpoint, _pattern, 13, 0.2f, SteeringMethod.SteeringAdd));
    }

    [Test]
    public void WritingNeverSilentlyOverwrites()
    {
        var cv = ControlVector.FromPattern(_checkpoint, _pattern, 3, 0.3f, SteeringMethod.SteeringAdd);
        var path = Path.Combine(_dir, "once.gguf");
        cv.WriteGguf(path);
        Assert.Throws<IOException>(() => cv.WriteGguf(path));
    }
}
