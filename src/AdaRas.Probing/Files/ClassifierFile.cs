using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Model;

namespace AdaRas.Probing.Files;

/// <summary>
/// The container shared by classifier files (attention gate, L1 probe):
/// <code>
///   bytes 0-7    magic, 8 ASCII bytes naming the kind ("ADRSGATE", "ADRSPROB")
///   bytes 8-11   format version, uint32 little-endian
///   bytes 12-15  header length L, uint32 little-endian
///   L bytes      UTF-8 JSON header: the kind's fields, plus "arrays": [{name, dtype, length}, ...]
///   payload      the arrays in that order, little-endian, packed (dtype int32 / float32 / float64)
///   last 4 bytes CRC-32 (IEEE) of everything before it
/// </code>
/// The reader checks magic, version, exact length (a truncated file is named as such), the checksum, and then
/// the caller asks for each array by name with the length it expects and gets NaN/infinity rejected.
/// </summary>
internal static class ClassifierFile
{
    const int PrefixLength = 16;
    const int ChecksumLength = 4;

    public sealed class Builder
    {
        readonly List<(string Name, string DType, int Length, byte[] Bytes)> _arrays = [];

        public Builder Int32(string name, ReadOnlySpan<int> values) => Add(name, "int32", values.Length, MemoryMarshal.AsBytes(values));
        public Builder Float32(string name, ReadOnlySpan<float> values) => Add(name, "float32", values.Length, MemoryMarshal.AsBytes(values));
        public Builder Float64(string name, ReadOnlySpan<double> values) => Add(name, "float64", values.Length, MemoryMarshal.AsBytes(values));

        Builder Add(string name, string dtype, int length, ReadOnlySpan<byte> bytes)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("classifier files are written on little-endian hosts only");
            _arrays.Add((name, dtype, length, bytes.ToArray()));
            return this;
        }

        public void Write(string path, string magic, int version, JsonObject header)
        {
            var magicBytes = MagicBytes(magic);
            var table = new JsonArray();
            foreach (var a in _arrays) table.Add(new JsonObject { ["name"] = a.Name, ["dtype"] = a.DType, ["length"] = a.Length });
            header["arrays"] = table;
            var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

            var crc = new Crc32();
            AtomicFile.Write(path, stream =>
            {
                void Put(ReadOnlySpan<byte> bytes) { crc.Append(bytes); stream.Write(bytes); }
                Span<byte> u32 = stackalloc byte[4];
                Put(magicBytes);
                BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)version); Put(u32);
                BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)headerBytes.Length); Put(u32);
                Put(headerBytes);
                foreach (var a in _arrays) Put(a.Bytes);
                stream.Write(crc.GetCurrentHash()); // Crc32 hash bytes are little-endian
            });
        }
    }

    public sealed class Reader
    {
        readonly byte[] _bytes;
        readonly Dictionary<string, (string DType, int Length, int Offset)> _arrays = [];
        public string Path { get; }
        public int Version { get; }
        public JsonObject Header { get; }

        Reader(string path, byte[] bytes, int version, JsonObject header)
        {
            Path = path; _bytes = bytes; Version = version; Header = header;
        }

        /// <summary>Reads and checks the container; <paramref name="description"/> says what the file should be.</summary>
        public static Reader Open(string path, string magic, int supportedVersion, string description)
        {
            if (!File.Exists(path)) throw new ModelFormatException(path, $"{description} file not found");
            var bytes = File.ReadAllBytes(path);
            var magicBytes = MagicBytes(magic);
            if (bytes.Length < PrefixLength || !bytes.AsSpan(0, 8).SequenceEqual(magicBytes))
                throw new ModelFormatException(path, $"not an AdaRas {description} file (expected magic '{magic}' at the start)");
            int version = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            if (version != supportedVersion)
                throw new ModelFormatException(path, $"{description} format version {version} is not supported (this build reads version {supportedVersion})");
            long headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
            if (PrefixLength + headerLength + ChecksumLength > bytes.Length)
                throw new ModelFormatException(path, $"file is truncated: its header alone needs {PrefixLength + headerLength + ChecksumLength} bytes, the file has {bytes.Length}");

            JsonObject header;
            try
            {
                header = JsonNode.Parse(bytes.AsSpan(PrefixLength, (int)headerLength)) as JsonObject
                         ?? throw new ModelFormatException(path, "header is not a JSON object");
            }
            catch (JsonException e) { throw new ModelFormatException(path, $"header is not valid JSON: {e.Message}", inner: e); }

            var reader = new Reader(path, bytes, version, header);
            long offset = PrefixLength + headerLength;
            if (header["arrays"] is not JsonArray table) throw new ModelFormatException(path, "header has no 'arrays' table");
            foreach (var node in table)
            {
                if (node is not JsonObject entry) throw new ModelFormatException(path, "header 'arrays' entry is not an object");
                string name = reader.Text(entry, "name", "arrays[]");
                string dtype = reader.Text(entry, "dtype", $"arrays[{name}]");
                int length = reader.Integer(entry, "length", $"arrays[{name}]");
                int size = dtype switch
                {
                    "int32" or "float32" => 4,
                    "float64" => 8,
                    _ => throw new ModelFormatException(path, $"unknown dtype '{dtype}'", name),
                };
                if (length < 0) throw new ModelFormatException(path, $"negative length {length}", name);
                if (!reader._arrays.TryAdd(name, (dtype, length, (int)Math.Min(offset, int.MaxValue))))
                    throw new ModelFormatException(path, "array listed twice", name);
                offset += (long)length * size;
            }
            long expected = offset + ChecksumLength;
            if (bytes.Length < expected)
                throw new ModelFormatException(path, $"file is truncated: the header describes {expected} bytes, the file has {bytes.Length}");
            if (bytes.Length > expected)
                throw new ModelFormatException(path, $"file has {bytes.Length - expected} unexpected trailing bytes after the {expected} its header describes");
            var actual = Crc32.HashToUInt32(bytes.AsSpan(0, (int)offset));
            var stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)offset));
            if (actual != stored)
                throw new ModelFormatException(path, $"checksum mismatch (stored CRC-32 {stored:x8}, contents give {actual:x8}): the file is corrupted");
            return reader;
        }

        public int[] Int32(string name, int expectedLength) =>
            MemoryMarshal.Cast<byte, int>(Slice(name, "int32", 4, expectedLength)).ToArray();

        public float[] Float32(string name, int expectedLength)
        {
            var values = MemoryMarshal.Cast<byte, float>(Slice(name, "float32", 4, expectedLength)).ToArray();
            for (int i = 0; i < values.Length; i++)
                if (!float.IsFinite(values[i])) throw new ModelFormatException(Path, $"element {i} is {values[i]} (weights must be finite)", name);
            return values;
        }

        public double[] Float64(string name, int expectedLength)
        {
            var values = MemoryMarshal.Cast<byte, double>(Slice(name, "float64", 8, expectedLength)).ToArray();
            for (int i = 0; i < values.Length; i++)
                if (!double.IsFinite(values[i])) throw new ModelFormatException(Path, $"element {i} is {values[i]} (weights must be finite)", name);
            return values;
        }

        ReadOnlySpan<byte> Slice(string name, string dtype, int size, int expectedLength)
        {
            if (!_arrays.TryGetValue(name, out var a)) throw new ModelFormatException(Path, "array is missing", name);
            if (a.DType != dtype) throw new ModelFormatException(Path, $"dtype is {a.DType}, expected {dtype}", name);
            if (a.Length != expectedLength) throw new ModelFormatException(Path, $"has {a.Length} elements, expected {expectedLength}", name);
            return _bytes.AsSpan(a.Offset, a.Length * size);
        }

        public string Text(string field) => Text(Header, field, "header");
        public int Integer(string field) => Integer(Header, field, "header");
        public double Number(string field) => Number(Header, field, "header");
        public JsonObject Object(string field) =>
            Header[field] as JsonObject ?? throw new ModelFormatException(Path, $"header field '{field}' is missing or not an object");

        public string Text(JsonObject o, string field, string where) =>
            o[field] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
                ? s : throw new ModelFormatException(Path, $"{where} field '{field}' is missing or not a non-empty string");

        public int Integer(JsonObject o, string field, string where) =>
            o[field] is JsonValue v && v.TryGetValue<int>(out var i)
                ? i : throw new ModelFormatException(Path, $"{where} field '{field}' is missing or not an integer");

        public double Number(JsonObject o, string field, string where) =>
            o[field] is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d)
                ? d : throw new ModelFormatException(Path, $"{where} field '{field}' is missing or not a finite number");
    }

    static byte[] MagicBytes(string magic)
    {
        var b = Encoding.ASCII.GetBytes(magic);
        if (b.Length != 8) throw new ArgumentException("magic must be 8 ASCII characters");
        return b;
    }
}
