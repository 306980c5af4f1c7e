using System.Runtime.InteropServices;

namespace AdaRas.Export;

/// <summary>
/// A weight matrix in ONNX Runtime's <c>com.microsoft.MatMulNBits</c> layout: B is [N, k_blocks, blob] uint8 with
/// blob = block * bits / 8, codes packed low-first along K (4-bit: element 2j in the low nibble of byte j); scales are
/// [N, k_blocks] float32; no zero-point input, so ONNX Runtime uses the symmetric default 2^(bits-1).
/// </summary>
sealed record QuantizedMatrix(int N, int K, int Bits, int BlockSize, byte[] Data, float[] Scales)
{
    public int KBlocks => (K + BlockSize - 1) / BlockSize;
    public int BlobSize => BlockSize * Bits / 8;
    public int ZeroPoint => 1 << (Bits - 1);

    /// <summary>The float32 values ONNX Runtime reconstructs, [N, K] row-major (for tests and quality checks).</summary>
    public float[] Dequantize()
    {
        var result = new float[(long)N * K];
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++)
                result[(long)n * K + k] = (Code(n, k) - ZeroPoint) * Scales[(long)n * KBlocks + k / BlockSize];
        return result;
    }

    int Code(int n, int k)
    {
        long blob = ((long)n * KBlocks + k / BlockSize) * BlobSize;
        int i = k % BlockSize;
        if (Bits == 8) return Data[blob + i];
        byte b = Data[blob + i / 2];
        return (i & 1) == 0 ? b & 0x0F : b >> 4;
    }
}

/// <summary>
/// Symmetric block-wise quantization (llama.cpp's Q4_0/Q8_0 rule, which ONNX Runtime's own quantizer also uses for
/// symmetric blocks): per block, d = v / -2^(bits-1) where v is the value of largest magnitude, so v maps exactly
/// to the lowest code and the rest round to nearest; q = clamp(round(x / d) + 2^(bits-1), 0, 2^bits - 1).
/// </summary>
static class BlockQuantizer
{
    public static readonly int[] SupportedBits = [4, 8];

    /// <summary>Quantizes W given as [N, K] row-major (Hugging Face's Linear layout [out, in]).</summary>
    public static QuantizedMatrix Quantize(ReadOnlySpan<float> w, int n, int k, int bits, int blockSize)
    {
        if (bits is not (4 or 8)) throw new ArgumentException($"bits must be 4 or 8, got {bits}");
        if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
            throw new ArgumentException($"block size must be a power of two >= 16, got {blockSize}");
        if ((long)n * k != w.Length) throw new ArgumentException($"{w.Length} values are not {n} x {k}");
        int kBlocks = (k + blockSize - 1) / blockSize, blob = blockSize * bits / 8;
        var data = new byte[(long)n * kBlocks * blob];
        var scales = new float[(long)n * kBlocks];
        int zero = 1 << (bits - 1), max = (1 << bits) - 1;
        // Work on an array so rows can be quantized in parallel (a span cannot cross into the lambda).
        float[] source = w.ToArray();
        Parallel.For(0, n, row =>
        {
            var codes = new int[blockSize];
            for (int b = 0; b < kBlocks; b++)
            {
                int k0 = b * blockSize, k1 = Math.Min(k, k0 + blockSize);
                float extreme = 0;
                for (int j = k0; j < k1; j++)
                {
                    float x = source[(long)row * k + j];
                    if (Math.Abs(x) > Math.Abs(extreme)) extreme = x;
                }
                float d = extreme / -zero;
                float inv = d == 0 ? 0 : 1 / d;
                Array.Fill(codes, zero); // padding past K decodes to 0
                for (int j = k0; j < k1; j++)
                    codes[j - k0] = Math.Clamp((int)MathF.Round(source[(long)row * k + j] * inv, MidpointRounding.AwayFromZero) + zero, 0, max);
                scales[(long)row * kBlocks + b] = d;
                long offset = ((long)row * kBlocks + b) * blob;
                if (bits == 8)
                    for (int i = 0; i < blockSize; i++) data[offset + i] = (byte)codes[i];
                else
                    for (int i = 0; i < blockSize; i += 2) data[offset + i / 2] = (byte)(codes[i] | (codes[i + 1] << 4));
            }
        });
        return new QuantizedMatrix(n, k, bits, blockSize, data, scales);
    }

    public static ReadOnlySpan<byte> ScaleBytes(QuantizedMatrix q) => MemoryMarshal.AsBytes(q.Scales.AsSpan());
}
