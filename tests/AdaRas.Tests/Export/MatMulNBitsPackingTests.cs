using AdaRas.Export;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using AdaRas.Tests.Support;
using Onnx;

namespace AdaRas.Tests.Export;

/// <summary>
/// The exporter's int4/int8 packing checked against ONNX Runtime itself: a one-node MatMulNBits graph fed our B and
/// scales must compute A x dequantize(B)^T, where dequantize is our reading of the layout. A wrong nibble order,
/// block order, zero point or scale layout makes ONNX Runtime's result disagree with ours.
/// </summary>
public class MatMulNBitsPackingTests
{
    static float[] Random(int count, int seed, float scale = 1)
    {
        var rng = new System.Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>Runs MatMulNBits(A [m, K], B) in ONNX Runtime.</summary>
    static float[] RunOrt(QuantizedMatrix q, float[] a, int m, int accuracyLevel)
    {
        var graph = new GraphProto { Name = "t" };
        var b = new TensorProto { Name = "B", DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom(q.Data) };
        b.Dims.AddRange([q.N, q.KBlocks, q.BlobSize]);
        var s = new TensorProto { Name = "scales", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BlockQuantizer.ScaleBytes(q)) };
        s.Dims.AddRange([q.N, q.KBlocks]);
        graph.Initializer.Add(b);
        graph.Initializer.Add(s);
        var node = new NodeProto { OpType = "MatMulNBits", Domain = "com.microsoft", Name = "mm" };
        node.Input.AddRange(["A", "B", "scales"]);
        node.Output.Add("Y");
        foreach (var (name, value) in new[] { ("K", q.K), ("N", q.N), ("bits", q.Bits), ("block_size", q.BlockSize), ("accuracy_level", accuracyLevel) })
            node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
        graph.Node.Add(node);
        graph.Input.Add(Value("A", m, q.K));
        graph.Output.Add(Value("Y", m, q.N));
        var model = new ModelProto { IrVersion = 10, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 21 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });

        using var session = new InferenceSession(model.ToByteArray());
        using var input = OrtValue.CreateTensorValueFromMemory(a, [m, q.K]);
        using var results = session.Run(new RunOptions(), ["A"], [input], ["Y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    static ValueInfoProto Value(string name, long rows, long cols)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = rows });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = cols });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    static float[] Reference(float[] a, float[] w, int m, int n, int k)
    {
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int t = 0; t < k; t++) sum += (double)a[i * k + t] * w[j * k + t];
                y[i * n + j] = (float)sum;
            }
        return y;
    }

    // K = 80 is not a multiple of the block: the last block is padded, as the spec's k_blocks = ceil(K / block) says.
    [TestCase(4, 32, 96), TestCase(8, 32, 96), TestCase(4, 32, 80), TestCase(8, 16, 80), TestCase(4, 64, 128)]
    public void OnnxRuntime_ComputesWithOurDequantizedWeights(int bits, int block, int k)
    {
        const int m = 3, n = 40;
        var w = Random(n * k, seed: bits * 100 + block + k);
        var q = BlockQuantizer.Quantize(w, n, k, bits, block);
        var a = Random(m * k, seed: 7);

        var expected = Reference(a, q.Dequantize(), m, n, k);
        var ort = RunOrt(q, a, m, accuracyLevel: 1); // float32 compute: exact up to summation order
        Assert.That(Compare.RelativeError(ort, expected), Is.LessThan(1e-5), "ONNX Runtime reads our layout as we do");

        // Our dequantization is close to the original weights (half a step, or one where the opposite extreme clips at the top code).
        var deq = q.Dequantize();
        for (int row = 0; row < n; row++)
            for (int t = 0; t < k; t++)
            {
                float step = Math.Abs(q.Scales[row * q.KBlocks + t / block]);
                Assert.That(Math.Abs(deq[row * k + t] - w[row * k + t]), Is.LessThanOrEqualTo(step + 1e-6f));
            }

        // Int8 compute (accuracy_level 4) quantizes A per block as well: close, not exact.
        var fast = RunOrt(q, a, m, accuracyLevel: 4);
        Assert.That(Compare.RelativeError(fast, expected), Is.LessThan(0.02));
    }

    [Test]
    public void ExtremeValueOfEachBlock_IsRepresentedExactly()
    {
        // The symmetric rule maps each block's largest-magnitude value to the lowest code: exact after dequantization.
        float[] w = [0.1f, -0.9f, 0.3f, 0.2f, .. new float[28], 2f, .. new float[31]];
        var q = BlockQuantizer.Quantize(w, 1, 64, 4, 32);
        var d = q.Dequantize();
        Assert.That(d[1], Is.EqualTo(-0.9f).Within(1e-7));
        Assert.That(d[32], Is.EqualTo(2f).Within(1e-7));
        Assert.That(q.Scales, Is.EqualTo(new[] { 0.9f / 8, -2f / 8 }).Within(1e-7));
    }

    [Test]
    public void BadBlockSizeOrBits_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(new float[64], 1, 64, 4, 24));
        Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(new float[64], 1, 64, 3, 32));
        Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(new float[63], 1, 64, 4, 32));
    }
}
