using System.Buffers.Binary;
using System.Text;
using AdaRas.Model;

namespace AdaRas.Steering.ControlVectors;

/// <summary>
/// Writes GGUF version 3 files (the ggml/llama.cpp container): little-endian header, typed key-value metadata,
/// tensor infos, then tensor data aligned to 32 bytes. What control vectors and whole Qwen3 models need: scalar,
/// string and array metadata, float32 and float16 tensors (model tensors are read lazily, one at a time, while writing).
/// </summary>
/// <remarks>
/// Hand-written because NuGet serves no .NET GGUF writer (none in this workplace's NuGet index; LLamaSharp
/// wraps llama.cpp's native reader and offers no writer), and the subset needed here is a few dozen lines.
/// Layout (ggml docs/gguf.md): "GGUF" magic, uint32 version, uint64 tensor count, uint64 metadata count;
/// each key is a uint64-length-prefixed UTF-8 string, a uint32 value type and the value; each tensor info is
/// its name, uint32 dimension count, uint64 dimensions (ggml order: fastest-varying first), uint32 ggml type
/// and uint64 offset from the start of the data section; the data section starts at the next multiple of
/// the alignment.
/// </remarks>
internal sealed class GgufWriter
{
    public const uint Version = 3;
    public const int Alignment = 32;

    /// <summary>GGUF metadata value types (gguf_type).</summary>
    public enum ValueType : uint { UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12 }

    /// <summary>ggml_type of float32 tensors.</summary>
    public const uint GgmlTypeF32 = 0;
    /// <summary>ggml_type of float16 tensors.</summary>
    public const uint GgmlTypeF16 = 1;

    readonly List<(string Key, ValueType Type, byte[] Value)> _metadata = [];
    readonly List<(string Name, long[] Dims, uint Type, Func<float[]> Data)> _tensors = [];

    public GgufWriter AddString(string key, string value) => Add(key, ValueType.String, StringBytes(value));
    public GgufWriter AddInt32(string key, int value) => Add(key, ValueType.Int32, LittleEndian(w => w.Write(value)));
    public GgufWriter AddUInt32(string key, uint value) => Add(key, ValueType.UInt32, LittleEndian(w => w.Write(value)));
    public GgufWriter AddFloat32(string key, float value) => Add(key, ValueType.Float32, LittleEndian(w => w.Write(value)));
    public GgufWriter AddBool(string key, bool value) => Add(key, ValueType.Bool, [(byte)(value ? 1 : 0)]);

    public GgufWriter AddStringArray(string key, IReadOnlyList<string> values) =>
        Add(key, ValueType.Array, LittleEndian(w =>
        {
            w.Write((uint)ValueType.String);
            w.Write((ulong)values.Count);
            foreach (var v in values) w.Write(StringBytes(v));
        }));

    public GgufWriter AddInt32Array(string key, IReadOnlyList<int> values) =>
        Add(key, ValueType.Array, LittleEndian(w =>
        {
            w.Write((uint)ValueType.Int32);
            w.Write((ulong)values.Count);
            foreach (var v in values) w.Write(v);
        }));

    /// <summary>
    /// Adds a tensor whose values are produced when the file is written (so a whole model need not sit in memory),
    /// stored as <paramref name="ggmlType"/> (<see cref="GgmlTypeF32"/> or <see cref="GgmlTypeF16"/>); dims in ggml order.
    /// </summary>
    public GgufWriter AddTensor(string name, uint ggmlType, Func<float[]> data, params long[] dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (ggmlType is not (GgmlTypeF32 or GgmlTypeF16)) throw new ArgumentException($"tensor '{name}': ggml type {ggmlType} is not F32 or F16");
        if (dims.Length is < 1 or > 4 || dims.Any(d => d <= 0))
            throw new ArgumentException($"tensor '{name}': ggml tensors have 1 to 4 positive dimensions, got [{string.Join(", ", dims)}]");
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' added twice");
        _tensors.Add((name, dims, ggmlType, data));
        return this;
    }

    /// <summary>Adds a float32 tensor; <paramref name="dims"/> in ggml order (a vector of n is [n]).</summary>
    public GgufWriter AddTensor(string name, float[] data, params long[] dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (dims.Length is < 1 or > 4) throw new ArgumentException($"tensor '{name}': ggml tensors have 1 to 4 dimensions, got {dims.Length}");
        if (dims.Any(d => d <= 0) || dims.Aggregate(1L, (a, b) => a * b) != data.LongLength)
            throw new ArgumentException($"tensor '{name}': dimensions [{string.Join(", ", dims)}] do not hold {data.LongLength} values");
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' added twice");
        _tensors.Add((name, dims, GgmlTypeF32, () => data));
        return this;
    }

    GgufWriter Add(string key, ValueType type, byte[] value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"metadata key '{key}' added twice");
        _metadata.Add((key, type, value));
        return this;
    }

    /// <summary>Writes the file (temporary file, then rename).</summary>
    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true); // BinaryWriter is little-endian
        w.Write("GGUF"u8);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, type, value) in _metadata)
        {
            w.Write(StringBytes(key));
            w.Write((uint)type);
            w.Write(value);
        }
        ulong offset = 0;
        foreach (var (name, dims, type, _) in _tensors)
        {
            w.Write(StringBytes(name));
            w.Write((uint)dims.Length);
            foreach (var d in dims) w.Write((ulong)d);
            w.Write(type);
            w.Write(offset);
            offset += Align((ulong)dims.Aggregate(1L, (a, b) => a * b) * (type == GgmlTypeF16 ? 2UL : 4UL));
        }
        Pad(w);
        foreach (var (name, dims, type, produce) in _tensors)
        {
            var data = produce();
            if (data.LongLength != dims.Aggregate(1L, (a, b) => a * b))
                throw new ArgumentException($"tensor '{name}': dimensions [{string.Join(", ", dims)}] do not hold {data.LongLength} values");
            int size = type == GgmlTypeF16 ? 2 : 4;
            var bytes = new byte[data.LongLength * size];
            if (type == GgmlTypeF16)
                for (long i = 0; i < data.LongLength; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan((int)(2 * i)), (Half)data[i]);
            else
                for (long i = 0; i < data.LongLength; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)(4 * i)), data[i]);
            w.Write(bytes);
            Pad(w);
        }
    });

    static ulong Align(ulong n) => (n + Alignment - 1) / Alignment * Alignment;

    static void Pad(BinaryWriter w)
    {
        long position = w.BaseStream.Position;
        long padded = (position + Alignment - 1) / Alignment * Alignment;
        for (long p = position; p < padded; p++) w.Write((byte)0);
    }

    static byte[] StringBytes(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        var bytes = new byte[8 + utf8.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)utf8.Length);
        utf8.CopyTo(bytes, 8);
        return bytes;
    }

    static byte[] LittleEndian(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms)) write(w);
        return ms.ToArray();
    }
}
