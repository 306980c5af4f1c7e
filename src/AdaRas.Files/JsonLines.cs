using System.Text;
using System.Text.Json;

namespace AdaRas.Files;

/// <summary>A line of a JSONL file is malformed; the message starts with <c>file:line:</c>.</summary>
public sealed class JsonLinesException(string file, int line, string problem)
    : FormatException(line > 0 ? $"{file}:{line}: {problem}" : $"{file}: {problem}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
}

/// <summary>
/// One non-blank line of a JSONL file, parsed as a JSON object, with typed field access whose errors name the
/// file and line. Valid only while the enumeration of <see cref="JsonLines.Read"/> stands on it.
/// </summary>
public readonly struct JsonLine(string file, int line, JsonElement row)
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
public static class JsonLines
{
    /// <summary>
    /// The file's non-blank lines in order, each parsed as a JSON object. Invalid UTF-8, invalid JSON or a line that
    /// is not an object throws <see cref="JsonLinesException"/> naming the file and line.
    /// </summary>
    public static IEnumerable<JsonLine> Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!System.IO.File.Exists(full)) throw new FileNotFoundException($"{full}: file not found", full);
        return ReadExisting(full);
    }

    static IEnumerable<JsonLine> ReadExisting(string file)
    {
        using var reader = new StreamReader(file, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
        int number = 0;
        while (true)
        {
            string? text;
            try { text = reader.ReadLine(); }
            catch (DecoderFallbackException e) { throw new JsonLinesException(file, number + 1, $"not valid UTF-8 ({e.Message})"); }
            if (text is null) yield break;
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { throw new JsonLinesException(file, number, $"invalid JSON ({e.Message})"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new JsonLinesException(file, number, $"expected a JSON object, found {doc.RootElement.ValueKind}");
                yield return new JsonLine(file, number, doc.RootElement);
            }
        }
    }
}
