using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace AdaRas.Model;

/// <summary>Where one tensor lives inside a safetensors file.</summary>
internal sealed record TensorInfo(string Name, TensorDType DType, long[] Shape, long Begin, long End, string FilePath)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A memory-mapped safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header, then raw little-endian tensor bytes. Nothing is read into managed memory
/// until a caller copies a tensor out, so multi-GB shards cost only address space.
/// </summary>
internal sealed unsafe class SafeTensorsFile : IDisposable
{
    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly byte* _base;
    readonly long _dataStart;

    public string FilePath { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr,
        long dataStart, Dictionary<string, TensorInfo> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path; _map = map; _view = view; _base = basePtr; _dataStart = dataStart;
        Tensors = tensors; Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "file not found");
        long fileLength = new FileInfo(path).Length;
        if (fileLength < 8) throw new ModelFormatException(path, $"file is {fileLength} bytes, too short for a safetensors header");

        byte[] headerBytes;
        using (var fs = File.OpenRead(path))
        {
            Span<byte> len = stackalloc byte[8];
            fs.ReadExactly(len);
            ulong headerLength = BitConverter.ToUInt64(len);
            if (headerLength > (ulong)(fileLength - 8))
                throw new ModelFormatException(path, $"header length {headerLength} is longer than the file ({fileLength} bytes)");
            if (headerLength > 100_000_000)
                throw new ModelFormatException(path, $"header length {headerLength} is implausibly large");
            headerBytes = new byte[headerLength];
            fs.ReadExactly(headerBytes);
        }
        long dataStart = 8 + headerBytes.LongLength;
        long dataLength = fileLength - dataStart;
        var (tensors, metadata) = ParseHeader(path, headerBytes, dataLength);

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* ptr = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
        ptr += view.PointerOffset;
        return new SafeTensorsFile(path, map, view, ptr, dataStart, tensors, metadata);
    }

    static (Dictionary<string, TensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new ModelFormatException(path, $"header is not valid JSON: {e.Message}", inner: e); }

        var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>();
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(path, "header is not a JSON object");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.ToString();
                    continue;
                }
                if (tensors.ContainsKey(prop.Name))
                    throw new ModelFormatException(path, "appears twice in the header", prop.Name);
                tensors[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLength);
            }
        }

        // Regions must not overlap: a corrupt or malicious header could otherwise alias two tensors.
        TensorInfo? previous = null;
        foreach (var t in tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (previous is not null && t.Begin < previous.End && t.ByteLength > 0 && previous.ByteLength > 0)
                throw new ModelFormatException(path, $"data_offsets [{t.Begin}, {t.End}) overlap tensor '{previous.Name}' [{previous.Begin}, {previous.End})", t.Name);
            if (t.ByteLength > 0) previous = t;
        }
        return (tensors, metadata);
    }

    static TensorInfo ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        JsonElement Field(string key) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var value) ? value
            : throw new ModelFormatException(path, $"header entry has no '{key}' (it needs dtype, shape and data_offsets)", name);
        try
        {
            string dtypeName = Field("dtype").GetString() ?? "";
            if (!TensorDTypes.TryParse(dtypeName, out var dtype))
                throw new ModelFormatException(path, $"unsupported dtype '{dtypeName}' (supported: F32, F16, BF16, I64, I32)", name);
            var shape = Field("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (shape.Any(d => d < 0)) throw new ModelFormatException(path, "negative dimension in shape", name);
            var offsets = Field("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2) throw new ModelFormatException(path, "data_offsets must have two entries", name);
            long begin = offsets[0], end = offsets[1];
            if (begin < 0 || end < begin)
                throw new ModelFormatException(path, $"invalid data_offsets [{begin}, {end})", name);
            if (end > dataLength)
                throw new ModelFormatException(path, $"data_offsets [{begin}, {end}) run past the end of the data section ({dataLength} bytes)", name);
            var info = new TensorInfo(name, dtype, shape, begin, end, path);
            long expected = checked(info.ElementCount * dtype.SizeOf());
            if (expected != info.ByteLength)
                throw new ModelFormatException(path, $"shape {info.ShapeText} of {dtype} needs {expected} bytes but data_offsets span {info.ByteLength}", name);
            return info;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new ModelFormatException(path, $"malformed header entry: {ex.Message}", name, ex);
        }
    }

    public TensorInfo Get(string name) =>
        Tensors.TryGetValue(name, out var t) ? t : throw new ModelFormatException(FilePath, "tensor not found", name);

    /// <summary>The raw bytes of a tensor (must be under 2 GiB; use <see cref="CopyToFloat32"/> for larger ones).</summary>
    public ReadOnlySpan<byte> GetBytes(TensorInfo t)
    {
        if (t.ByteLength > int.MaxValue) throw new ModelFormatException(FilePath, "tensor is larger than 2 GiB; read it in rows", t.Name);
        return new ReadOnlySpan<byte>(_base + _dataStart + t.Begin, (int)t.ByteLength);
    }

    /// <summary>Copies elements [firstElement, firstElement + dst.Length) of a float tensor into dst as float32.</summary>
    public void CopyToFloat32(TensorInfo t, Span<float> dst, long firstElement = 0)
    {
        if (!t.DType.IsFloat()) throw new ModelFormatException(FilePath, $"{t.DType} is not a floating-point dtype", t.Name);
        if (firstElement < 0 || firstElement + dst.Length > t.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(dst), $"{t.Name}: range [{firstElement}, {firstElement + dst.Length}) outside {t.ElementCount} elements");
        int size = t.DType.SizeOf();
        const int chunk = 1 << 20; // elements per conversion step; keeps every span well under 2 GiB
        for (int done = 0; done < dst.Length; done += chunk)
        {
            int n = Math.Min(chunk, dst.Length - done);
            var src = new ReadOnlySpan<byte>(_base + _dataStart + t.Begin + (firstElement + done) * size, n * size);
            TensorDTypes.ToFloat32(t.DType, src, dst.Slice(done, n));
        }
    }

    public float[] ReadFloat32(TensorInfo t)
    {
        var result = new float[checked((int)t.ElementCount)];
        CopyToFloat32(t, result);
        return result;
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
