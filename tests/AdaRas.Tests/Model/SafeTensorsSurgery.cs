using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using AdaRas.Model;

namespace AdaRas.Tests.Model;

/// <summary>Byte-level edits of safetensors and JSON files, to craft the corrupt inputs the reader must reject.</summary>
static class SafeTensorsSurgery
{
    /// <summary>Splits a safetensors file into its header (parsed) and its data section.</summary>
    public static (JsonObject Header, byte[] Data) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        var header = (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!;
        return (header, bytes[(8 + headerLength)..]);
    }

    /// <summary>Writes a header (as given, padded to 8 bytes) followed by the data section.</summary>
    public static void Write(string path, string headerJson, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(headerJson);
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        stream.Write(data);
    }

    /// <summary>Edits the header of a safetensors file in place, keeping its data.</summary>
    public static void EditHeader(string path, Action<JsonObject> edit)
    {
        var (header, data) = Read(path);
        edit(header);
        Write(path, header.ToJsonString(), data);
    }

    /// <summary>Rewrites a safetensors file from its tensors as edited by <paramref name="edit"/> (a well-formed file).</summary>
    public static void EditTensors(string path, Action<List<TensorData>> edit)
    {
        List<TensorData> tensors;
        using (var file = SafeTensorsFile.Open(path))
            tensors = file.Tensors.Values.Select(t => new TensorData(t.Name, t.DType, t.Shape, file.GetBytes(t).ToArray())).ToList();
        edit(tensors);
        File.Delete(path);
        SafeTensorsWriter.Write(path, tensors);
    }

    public static void EditJson(string path, Action<JsonObject> edit)
    {
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    public static long[] Offsets(JsonObject header, string tensor) =>
        header[tensor]!["data_offsets"]!.AsArray().Select(n => (long)n!).ToArray();

    public static void SetOffsets(JsonObject header, string tensor, long begin, long end) =>
        header[tensor]!["data_offsets"] = new JsonArray(begin, end);
}
