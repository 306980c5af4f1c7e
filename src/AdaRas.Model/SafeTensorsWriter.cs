using System.Text;
using System.Text.Json;

namespace AdaRas.Model;

/// <summary>One tensor to be written: name, dtype, shape and its little-endian bytes.</summary>
public sealed record TensorData(string Name, TensorDType DType, long[] Shape, byte[] Bytes)
{
    public static TensorData FromFloat32(string name, TensorDType dtype, long[] shape, ReadOnlySpan<float> values) =>
        new(name, dtype, shape, TensorDTypes.FromFloat32(dtype, values));
}

/// <summary>Writes a safetensors file the way the Hugging Face library does (header padded to 8 bytes, tensors in name order).</summary>
public static class SafeTensorsWriter
{
    public static void Write(string path, IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        if (metadata is not null) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var t in list)
        {
            long expected = t.Shape.Aggregate(1L, (a, b) => a * b) * t.DType.SizeOf();
            if (expected != t.Bytes.LongLength)
                throw new ArgumentException($"{t.Name}: shape [{string.Join(", ", t.Shape)}] needs {expected} bytes, got {t.Bytes.LongLength}");
            header[t.Name] = new { dtype = t.DType.ToSafeTensorsName(), shape = t.Shape, data_offsets = new[] { offset, offset + t.Bytes.LongLength } };
            offset += t.Bytes.LongLength;
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
            foreach (var t in list) stream.Write(t.Bytes);
        });
    }
}
