using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace AdaRas.Export;

/// <summary>
/// Turns float32 weights into ONNX initializers in the export precision, either inline in the protobuf or
/// appended to an external data file (ONNX's "external data" layout). A protobuf may not exceed 2 GiB, so
/// large models must go external; streaming each tensor to disk also keeps the exporter's memory flat.
/// </summary>
sealed class WeightStore : IDisposable
{
    readonly FileStream? _data;
    readonly string? _dataFileName;
    readonly int _elemType;

    public long BytesWritten { get; private set; }

    public WeightStore(int elemType, string? externalDataPath)
    {
        _elemType = elemType;
        if (externalDataPath is not null)
        {
            _data = new FileStream(externalDataPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 22);
            _dataFileName = Path.GetFileName(externalDataPath);
        }
    }

    /// <summary>Adds a weight in the export precision.</summary>
    public TensorProto Add(string name, ReadOnlySpan<float> values, params long[] dims) =>
        _elemType == OnnxGraph.Float16 ? AddBytes(name, OnnxGraph.Float16, ToHalfBytes(values), dims)
                                       : AddBytes(name, OnnxGraph.Float, MemoryMarshal.AsBytes(values), dims);

    /// <summary>Adds a tensor that stays float32 whatever the export precision (steering defaults).</summary>
    public TensorProto AddFloat32(string name, ReadOnlySpan<float> values, params long[] dims) =>
        AddBytes(name, OnnxGraph.Float, MemoryMarshal.AsBytes(values), dims);

    /// <summary>Adds a tensor that is float16 whatever the export precision (a float16 KV cache's rotary tables).</summary>
    public TensorProto AddFloat16(string name, ReadOnlySpan<float> values, params long[] dims) =>
        AddBytes(name, OnnxGraph.Float16, ToHalfBytes(values), dims);

    /// <summary>Adds a tensor from its raw little-endian bytes (quantized weights).</summary>
    public TensorProto AddRaw(string name, int elemType, ReadOnlySpan<byte> bytes, params long[] dims) =>
        AddBytes(name, elemType, bytes, dims);

    static byte[] ToHalfBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        return bytes;
    }

    TensorProto AddBytes(string name, int elemType, ReadOnlySpan<byte> bytes, long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = elemType };
        t.Dims.AddRange(dims);
        // Small tensors stay inline even in external mode: ORT reads them without a file seek.
        if (_data is null || bytes.Length < 1024)
        {
            t.RawData = ByteString.CopyFrom(bytes);
        }
        else
        {
            // Page-align large tensors so ONNX Runtime can memory-map them.
            long alignment = bytes.Length >= (1 << 20) ? 4096 : 64;
            long offset = (_data.Position + alignment - 1) / alignment * alignment;
            if (offset > _data.Position) _data.Write(new byte[offset - _data.Position]);
            _data.Write(bytes);
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = _dataFileName });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString() });
        }
        BytesWritten += bytes.Length;
        return t;
    }

    public void Dispose() => _data?.Dispose();
}
