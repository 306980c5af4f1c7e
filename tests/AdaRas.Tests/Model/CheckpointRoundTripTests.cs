using AdaRas.Model;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Model;

/// <summary>What the maker writes, the reader returns: exactly for F32, rounded to nearest-even for BF16/F16.</summary>
public class CheckpointRoundTripTests
{
    static readonly CheckpointShape Shape = CheckpointShapes.TinyUntied;

    static IEnumerable<(string Name, float[] Values)> Expected(int seed) =>
        Qwen3Weights.Expected(Shape.ToConfig(TensorDType.F32)).Select(t => (t.Name, RandomCheckpoint.Values(Shape, seed, t.Name)));

    [Test]
    public void Float32_ReadsBackExactly()
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape));
        Assert.That(checkpoint.WeightDType, Is.EqualTo(TensorDType.F32));
        Assert.That(checkpoint.Config, Is.EqualTo(Shape.ToConfig(TensorDType.F32)).Using<Qwen3Config>(SameNetwork));
        foreach (var (name, values) in Expected(1))
            Assert.That(checkpoint.ReadFloat32(name), Is.EqualTo(values), name);
    }

    [Test]
    public void BFloat16_ReadsBackTheRoundedValues()
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape, dtype: TensorDType.BF16));
        Assert.That(checkpoint.WeightDType, Is.EqualTo(TensorDType.BF16));
        int changed = 0;
        foreach (var (name, values) in Expected(1))
        {
            var read = checkpoint.ReadFloat32(name);
            var rounded = values.Select(v => TensorDTypes.BFloat16ToSingle(TensorDTypes.SingleToBFloat16(v))).ToArray();
            Assert.That(read, Is.EqualTo(rounded), name);
            for (int i = 0; i < values.Length; i++)
            {
                Assert.That(Math.Abs(read[i] - values[i]), Is.LessThanOrEqualTo(Math.Abs(values[i]) * Math.Pow(2, -8)), name);
                if (read[i] != values[i]) changed++;
            }
        }
        Assert.That(changed, Is.GreaterThan(0), "bf16 must actually round");
    }

    [Test]
    public void Float16_ReadsBackTheRoundedValues()
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape, dtype: TensorDType.F16));
        Assert.That(checkpoint.WeightDType, Is.EqualTo(TensorDType.F16));
        foreach (var (name, values) in Expected(1))
        {
            var read = checkpoint.ReadFloat32(name);
            Assert.That(read, Is.EqualTo(values.Select(v => (float)(Half)v).ToArray()), name);
            for (int i = 0; i < values.Length; i++)
                Assert.That(Math.Abs(read[i] - values[i]), Is.LessThanOrEqualTo(Math.Max(Math.Abs(values[i]) * Math.Pow(2, -11), Math.Pow(2, -24))), name);
        }
    }

    [Test]
    public void BFloat16Rounding_IsToNearestEven()
    {
        // bf16 keeps 7 mantissa bits: near 1 its step is 2^-7. Halfway cases go to the even neighbour.
        float Round(float x) => TensorDTypes.BFloat16ToSingle(TensorDTypes.SingleToBFloat16(x));
        Assert.Multiple(() =>
        {
            Assert.That(Round(1f + MathF.Pow(2, -8)), Is.EqualTo(1f), "tie, 1.0 is even");
            Assert.That(Round(1f + 3 * MathF.Pow(2, -8)), Is.EqualTo(1f + MathF.Pow(2, -6)), "tie, rounds up to even");
            Assert.That(Round(1f + MathF.Pow(2, -8) + MathF.Pow(2, -20)), Is.EqualTo(1f + MathF.Pow(2, -7)), "above half");
            Assert.That(Round(-2.5f), Is.EqualTo(-2.5f), "exactly representable");
            Assert.That(TensorDTypes.SingleToBFloat16(1f), Is.EqualTo(0x3F80));
            Assert.That(float.IsNaN(Round(float.NaN)));
            Assert.That(Round(float.PositiveInfinity), Is.EqualTo(float.PositiveInfinity));
        });
    }

    [Test]
    public void CopyToFloat32_ReadsAnElementRange()
    {
        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(Shape, dtype: TensorDType.BF16));
        var all = checkpoint.ReadFloat32(Qwen3Weights.Embedding);
        var part = new float[100];
        checkpoint.CopyToFloat32(Qwen3Weights.Embedding, part, firstElement: 1234);
        Assert.That(part, Is.EqualTo(all[1234..1334]));
        Assert.Throws<ArgumentOutOfRangeException>(() => checkpoint.CopyToFloat32(Qwen3Weights.Embedding, part, all.Length - 50));
    }

    [Test]
    public void Sharded_ReadsTheSameValuesFromTheShardTheIndexNames()
    {
        using var single = Checkpoint.Open(TestCheckpoints.Folder(Shape, dtype: TensorDType.BF16));
        var folder = TestCheckpoints.Folder(Shape, dtype: TensorDType.BF16, shards: 3);
        using var sharded = Checkpoint.Open(folder);
        Assert.That(sharded.WeightDType, Is.EqualTo(TensorDType.BF16));
        var shardsUsed = new HashSet<string>();
        foreach (var (name, _) in Expected(1))
        {
            Assert.That(sharded.ReadFloat32(name), Is.EqualTo(single.ReadFloat32(name)), name);
            shardsUsed.Add(Path.GetFileName(sharded.Info(name).FilePath));
        }
        Assert.That(shardsUsed, Has.Count.EqualTo(3));
    }

    [Test]
    public void TiedCheckpoint_MayStillStoreLmHead()
    {
        // Real Qwen3-0.6B files carry lm_head.weight next to the tied embedding; that must load.
        var folder = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        var path = Path.Combine(folder, Checkpoint.SingleWeightsFile);
        SafeTensorsSurgery.EditTensors(path, tensors =>
        {
            var embedding = tensors.Single(t => t.Name == Qwen3Weights.Embedding);
            tensors.Add(embedding with { Name = Qwen3Weights.LmHead });
        });
        using var checkpoint = Checkpoint.Open(folder);
        Assert.That(checkpoint.ReadFloat32(Qwen3Weights.LmHead), Is.EqualTo(checkpoint.ReadFloat32(Qwen3Weights.Embedding)));
    }

    static bool SameNetwork(Qwen3Config a, Qwen3Config b) =>
        a.VocabSize == b.VocabSize && a.HiddenSize == b.HiddenSize && a.IntermediateSize == b.IntermediateSize &&
        a.NumHiddenLayers == b.NumHiddenLayers && a.NumAttentionHeads == b.NumAttentionHeads &&
        a.NumKeyValueHeads == b.NumKeyValueHeads && a.HeadDim == b.HeadDim && a.RopeTheta == b.RopeTheta &&
        a.RmsNormEps == b.RmsNormEps && a.MaxPositionEmbeddings == b.MaxPositionEmbeddings &&
        a.TieWordEmbeddings == b.TieWordEmbeddings && a.TorchDtype == b.TorchDtype && a.BosTokenId == b.BosTokenId &&
        a.EosTokenIds.SequenceEqual(b.EosTokenIds);
}
