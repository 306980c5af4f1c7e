using System.Text;
using System.Text.Json;

namespace AdaRas.Model;

/// <summary>One tensor to be written: name, dtype, shape and its little-endian bytes.</summary>
internal sealed record TensorData(string Name, TensorDType DType, long[] Shape, byte[] Bytes)
{
    public static TensorData FromFloat32(string name, TensorDType dtype, long[] shape, ReadOnlySpan<float> values) =>
        new(name, dtype, shape, TensorDTypes.FromFloat32(dtype, values));
}

/// <summary>
/// A tensor whose bytes are produced only when the writer reaches it, so a multi-GB checkpoint can be written
/// while holding at most a chunk of one tensor. <see cref="WriteBytes"/> must write exactly
/// <c>elements * dtype size</c> bytes (the writer checks).
/// </summary>
internal sealed record StreamedTensor(string Name, TensorDType DType, long[] Shape, Action<Stream> WriteBytes)
{
    public long ByteLength => Shape.Aggregate(1L, (a, b) => checked(a * b)) * DType.SizeOf();
}

/// <summary>Writes a safetensors file the way the Hugging Face library does (header padded to 8 bytes, tensors in name order).</summary>
internal static class SafeTensorsWriter
{
    public static void Write(string path, IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var streamed = tensors.Select(t =>
        {
            long expected = t.Shape.Aggregate(1L, (a, b) => a * b) * t.DType.SizeOf();
            if (expected != t.Bytes.LongLength)
                throw new ArgumentException($"{t.Name}: shape [{string.Join(", ", t.Shape)}] needs {expected} bytes, got {t.Bytes.LongLength}");
            return new StreamedTensor(t.Name, t.DType, t.Shape, s => s.Write(t.Bytes));
        }).ToList();
        Write(path, streamed, metadata);
    }

    /// <summary>
    /// Writes the header (sizes are known from the shapes), then asks each tensor for its bytes in name order.
    /// </summary>
    public static void Write(string path, IEnumerable<StreamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        if (metadata is not null) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var t in list)
        {
            if (header.ContainsKey(t.Name)) throw new ArgumentException($"{t.Name}: tensor name given twice");
            header[t.Name] = new { dtype = t.DType.ToSafeTensorsName(), shape = t.Shape, data_offsets = new[] { offset, offset + t.ByteLength } };
            offset += t.ByteLength;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;
        var headerBytes = new byte[padded];
        Array.Fill(headerBytes, (byte)' ');
        json.CopyTo(headerBytes, 0);

        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(headerBytes);
            foreach (var t in list)
            {
                long start = stream.Position;
                t.WriteBytes(stream);
                long written = stream.Position - start;
                if (written != t.ByteLength)
                    throw new InvalidOperationException($"{path}: tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] of {t.DType} needs {t.ByteLength} bytes, the producer wrote {written}");
            }
        });
    }
}
