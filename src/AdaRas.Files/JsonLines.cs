using System.Buffers;
using System.Text;
using System.Text.Json;

namespace AdaRas.Files;

/// <summary>A line of a JSONL file is malformed; the message starts with <c>file:line:</c>.</summary>
internal sealed class JsonLinesException(string file, int line, string problem)
    : InputException(file, line > 0 ? line : null, problem)
{
    public string File { get; } = file;
    public new int Line { get; } = line;
}

/// <summary>
/// One non-blank line of a JSONL file, parsed as a JSON object, with typed field access whose errors name the
/// file and line. Valid only while the enumeration of <see cref="JsonLines.Read"/> stands on it.
/// </summary>
internal readonly struct JsonLine(string file, int line, JsonElement row)
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public JsonElement Row { get; } = row;

    public JsonLinesException Error(string problem) => new(File, Line, problem);
    public JsonLinesException Missing(string field) => Error($"missing field '{field}'");

    bool TryGet(string name, out JsonElement value) =>
        Row.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>A string field; null when absent or null.</summary>
    public string? String(string name) =>
        !TryGet(name, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw Error($"field '{name}' must be a string, found {v.ValueKind}");

    /// <summary>A string, or a number kept in its JSON spelling (the paper's files write ids and answers either way).</summary>
    public string? Scalar(string name) =>
        !TryGet(name, out var v) ? null
        : v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => throw Error($"field '{name}' must be a string or number, found {v.ValueKind}"),
        };

    /// <summary>A boolean written as JSON true/false or as the strings "True"/"False" (as the paper's Python wrote them).</summary>
    public bool? Bool(string name) =>
        !TryGet(name, out var v) ? null
        : v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when string.Equals(v.GetString(), "True", StringComparison.OrdinalIgnoreCase) => true,
            JsonValueKind.String when string.Equals(v.GetString(), "False", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw Error($"field '{name}' must be true/false or \"True\"/\"False\", found {v.GetRawText()}"),
        };

    public string RequiredString(string name) => String(name) ?? throw Missing(name);
    public string RequiredScalar(string name) => Scalar(name) ?? throw Missing(name);
    public bool RequiredBool(string name) => Bool(name) ?? throw Missing(name);
}

/// <summary>Reads JSONL files (one JSON object per line) as the paper's data files are written.</summary>
internal static class JsonLines
{
    /// <summary>
    /// Longest line accepted (bytes). The paper's longest rows (32k-token reasoning traces) are a few hundred KB;
    /// the bound keeps a hostile or corrupt file (one 50 MB line, /dev/zero) from costing gigabytes before it is
    /// rejected: a line is held as bytes and parsed once, never decoded to a string first.
    /// </summary>
    public const int MaxLineBytes = 16 << 20;

    /// <summary>
    /// The file's non-blank lines in order, each parsed as a JSON object. Invalid UTF-8, invalid JSON, a line that
    /// is not an object or a line over <see cref="MaxLineBytes"/> throws <see cref="JsonLinesException"/> naming the
    /// file and the line it is on.
    /// </summary>
    public static IEnumerable<JsonLine> Read(string path)
    {
        var full = Path.GetFullPath(path);
        InputFiles.RequireRegularFile(full, "JSONL file");
        return ReadExisting(full);
    }

    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    static IEnumerable<JsonLine> ReadExisting(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var pending = new ArrayBufferWriter<byte>(1 << 12);
        var chunk = new byte[1 << 16];
        int number = 0;
        bool end = false;
        while (!end)
        {
            int read = stream.Read(chunk, 0, chunk.Length);
            end = read == 0;
            int start = 0;
            while (start < read || (end && start == 0))
            {
                int newline = end ? -1 : Array.IndexOf(chunk, (byte)'\n', start, read - start);
                int stop = newline < 0 ? read : newline;
                if ((long)pending.WrittenCount + (stop - start) > MaxLineBytes)
                    throw new JsonLinesException(file, number + 1, $"line is longer than {MaxLineBytes >> 20} MB (a JSONL row should be one record)");
                pending.Write(chunk.AsSpan(start, stop - start));
                if (newline < 0 && !end) break;                 // the line continues in the next chunk
                number++;
                if (Parse(file, number, pending.WrittenSpan) is { } doc)
                    using (doc)
                        yield return new JsonLine(file, number, doc.RootElement);
                pending.ResetWrittenCount();
                start = stop + 1;
                if (end) break;
            }
        }
    }

    /// <summary>One line's object, or null for a blank line.</summary>
    static JsonDocument? Parse(string file, int number, ReadOnlySpan<byte> line)
    {
        if (number == 1 && line.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) line = line[3..];   // UTF-8 BOM
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (line.Trim((ReadOnlySpan<byte>)" \t"u8).IsEmpty) return null;
        try { StrictUtf8.GetCharCount(line); }
        catch (DecoderFallbackException e) { throw new JsonLinesException(file, number, $"not valid UTF-8 ({e.Message})"); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line.ToArray()); }
        catch (JsonException e) { throw new JsonLinesException(file, number, $"invalid JSON ({e.Message})"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = doc.RootElement.ValueKind;
            doc.Dispose();
            throw new JsonLinesException(file, number, $"expected a JSON object, found {kind}");
        }
        return doc;
    }
}
