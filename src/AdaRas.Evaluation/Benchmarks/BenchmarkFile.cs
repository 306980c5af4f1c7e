using System.Text;
using System.Text.Json;

namespace AdaRas.Evaluation.Benchmarks;

/// <summary>
/// Reads the paper's JSONL format: one object per line with <c>id</c>, <c>question</c>, <c>answer</c> (math),
/// optional <c>is_good</c> (bool or "True"/"False"), and <c>task_id</c>/<c>entry_point</c> (code).
/// Other fields are ignored. Blank lines are skipped; anything else malformed is a
/// <see cref="BenchmarkFormatException"/> naming the file and line.
/// </summary>
public static class BenchmarkFile
{
    /// <param name="allowDuplicateIds">
    /// The AIME train/validation splits reuse ids across years (9 and 1 clashes); only code that never keys
    /// results by id (gate training) should load such files, and it must say so here.
    /// </param>
    public static Benchmark Load(string path, BenchmarkTask task, string? name = null, bool allowDuplicateIds = false)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{full}: benchmark file not found", full);
        var samples = new List<BenchmarkSample>();
        var firstLineOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (var line in ReadLines(full))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var sample = ParseLine(full, lineNumber, line, task, samples.Count);
            if (firstLineOfId.TryGetValue(sample.Id, out var first))
            {
                if (!allowDuplicateIds)
                    throw new BenchmarkFormatException(full, lineNumber, $"duplicate id {sample.Id} (first at line {first})");
            }
            else firstLineOfId[sample.Id] = lineNumber;
            samples.Add(sample);
        }
        if (samples.Count == 0) throw new BenchmarkFormatException(full, 0, "no samples");
        return new Benchmark(name ?? Path.GetFileNameWithoutExtension(full), task, full, samples);
    }

    static IEnumerable<string> ReadLines(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
        while (reader.ReadLine() is { } line) yield return line;
    }

    static BenchmarkSample ParseLine(string file, int line, string text, BenchmarkTask task, int index)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new BenchmarkFormatException(file, line, $"invalid JSON ({e.Message})"); }
        using (doc)
        {
            var row = doc.RootElement;
            if (row.ValueKind != JsonValueKind.Object)
                throw new BenchmarkFormatException(file, line, $"expected a JSON object, found {row.ValueKind}");

            string id = ScalarText(file, line, row, "id") ?? throw Missing(file, line, "id");
            string question = StringField(file, line, row, "question") ?? throw Missing(file, line, "question");
            string? answer = ScalarText(file, line, row, "answer");
            bool? isGood = ParseIsGood(file, line, row);
            string? taskId = StringField(file, line, row, "task_id");
            string? entryPoint = StringField(file, line, row, "entry_point");
            string? test = StringField(file, line, row, "test");

            CodeTest? codeTest = null;
            if (task == BenchmarkTask.Math)
            {
                if (answer is null) throw Missing(file, line, "answer");
            }
            else
            {
                if (entryPoint is null) throw Missing(file, line, "entry_point");
                codeTest = CodeTests.Resolve(file, line, question, taskId, entryPoint, test);
            }
            return new BenchmarkSample(index, id, question, answer, isGood, taskId, entryPoint, codeTest, line);
        }
    }

    static BenchmarkFormatException Missing(string file, int line, string field) =>
        new(file, line, $"missing field '{field}'");

    static string? StringField(string file, int line, JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String)
            throw new BenchmarkFormatException(file, line, $"field '{name}' must be a string, found {v.ValueKind}");
        return v.GetString();
    }

    /// <summary>A string, or a number kept in its JSON spelling (ids and answers are numbers in some files).</summary>
    static string? ScalarText(string file, int line, JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => throw new BenchmarkFormatException(file, line, $"field '{name}' must be a string or number, found {v.ValueKind}"),
        };
    }

    static bool? ParseIsGood(string file, int line, JsonElement row)
    {
        if (!row.TryGetProperty("is_good", out var v) || v.ValueKind == JsonValueKind.Null) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String when string.Equals(v.GetString(), "True", StringComparison.OrdinalIgnoreCase): return true;
            case JsonValueKind.String when string.Equals(v.GetString(), "False", StringComparison.OrdinalIgnoreCase): return false;
            default:
                throw new BenchmarkFormatException(file, line, $"field 'is_good' must be true/false or \"True\"/\"False\", found {v.GetRawText()}");
        }
    }
}
