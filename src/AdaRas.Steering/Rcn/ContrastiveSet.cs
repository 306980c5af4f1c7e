using System.Text;
using System.Text.Json;

namespace AdaRas.Steering.Rcn;

/// <summary>
/// One reasoning trajectory of a contrastive set: a question, the model's thinking on it, and whether that
/// reasoning reached a correct answer.
/// </summary>
/// <param name="Id">The question's id (<c>id</c>; JSON number or string, kept as written).</param>
/// <param name="SampleId">The trajectory's number within its question (<c>_id</c>).</param>
/// <param name="Line">1-based line in the file, for messages.</param>
public sealed record Trajectory(string Id, string SampleId, string Question, string Thinking, bool IsGood, int Line)
{
    /// <summary>
    /// What the model reads, as in the paper's released code: raw text, no chat template.
    /// </summary>
    public string Text => "Question: " + Question + "\nThinking process:" + Thinking;

    /// <summary><c>{id}_{_id}</c>, for file names and messages (uniqueness is checked on the pair itself).</summary>
    public string Key => $"{Id}_{SampleId}";

    public override string ToString() => $"id={Id} _id={SampleId} (line {Line}, {(IsGood ? "correct" : "incorrect")})";
}

/// <summary>A contrastive set file is malformed; the message names the file and line.</summary>
public sealed class ContrastiveSetFormatException(string filePath, int? line, string message)
    : FormatException(line is null ? $"{filePath}: {message}" : $"{filePath}:{line}: {message}")
{
    public string FilePath { get; } = filePath;
    public int? Line { get; } = line;
}

/// <summary>
/// The contrastive trajectories RCNs are identified from (DESIGN.md step 1): a JSONL file with one row per
/// trajectory, <c>{id, _id, question, thinking, is_good}</c>. <c>is_good</c> may be a JSON boolean or the strings
/// "True"/"False" (as the paper's Python wrote them); other fields are ignored. Blank lines are skipped.
/// </summary>
public sealed class ContrastiveSet
{
    public string Path { get; }
    /// <summary>The file name without extension (recorded in the pattern's sidecar).</summary>
    public string Name { get; }
    /// <summary>In file order.</summary>
    public IReadOnlyList<Trajectory> Trajectories { get; }
    public int CorrectCount => Trajectories.Count(t => t.IsGood);
    public int IncorrectCount => Trajectories.Count(t => !t.IsGood);

    ContrastiveSet(string path, IReadOnlyList<Trajectory> trajectories)
    {
        Path = path;
        Name = System.IO.Path.GetFileNameWithoutExtension(path);
        Trajectories = trajectories;
    }

    /// <summary>Reads and checks every row; throws <see cref="ContrastiveSetFormatException"/> naming file:line.</summary>
    public static ContrastiveSet Load(string path)
    {
        if (!File.Exists(path)) throw new ContrastiveSetFormatException(path, null, "contrastive set not found");
        var trajectories = new List<Trajectory>();
        var seen = new Dictionary<(string, string), int>();
        int lineNumber = 0;
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var t = ParseRow(path, lineNumber, line);
            if (seen.TryGetValue((t.Id, t.SampleId), out var first))
                throw new ContrastiveSetFormatException(path, lineNumber,
                    $"duplicate trajectory id={t.Id} _id={t.SampleId} (first on line {first})");
            seen[(t.Id, t.SampleId)] = lineNumber;
            trajectories.Add(t);
        }
        if (trajectories.Count == 0) throw new ContrastiveSetFormatException(path, null, "no trajectories (the file is empty)");
        return new ContrastiveSet(path, trajectories);
    }

    /// <summary>Throws unless both classes are present (the class means need at least one of each).</summary>
    public void RequireBothClasses()
    {
        if (CorrectCount == 0 || IncorrectCount == 0)
            throw new ContrastiveSetFormatException(Path, null,
                $"RCN identification needs correct and incorrect trajectories; the file has {CorrectCount} correct and {IncorrectCount} incorrect");
    }

    static Trajectory ParseRow(string path, int line, string text)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new ContrastiveSetFormatException(path, line, $"not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ContrastiveSetFormatException(path, line, $"expected a JSON object, got {root.ValueKind}");
            string id = IdField(path, line, root, "id");
            string sampleId = IdField(path, line, root, "_id");
            string question = StringField(path, line, root, "question");
            string thinking = StringField(path, line, root, "thinking");
            bool good = Required(path, line, root, "is_good") switch
            {
                { ValueKind: JsonValueKind.True } => true,
                { ValueKind: JsonValueKind.False } => false,
                { ValueKind: JsonValueKind.String } s when s.GetString() is "True" or "true" => true,
                { ValueKind: JsonValueKind.String } s when s.GetString() is "False" or "false" => false,
                var other => throw new ContrastiveSetFormatException(path, line,
                    $"'is_good' is {other.GetRawText()}; expected true/false or \"True\"/\"False\""),
            };
            return new Trajectory(id, sampleId, question, thinking, good, line);
        }
    }

    static JsonElement Required(string path, int line, JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new ContrastiveSetFormatException(path, line, $"missing field '{name}'");

    static string IdField(string path, int line, JsonElement root, string name)
    {
        var value = Required(path, line, root, name);
        return value.ValueKind switch
        {
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.String when value.GetString()!.Length > 0 => value.GetString()!,
            _ => throw new ContrastiveSetFormatException(path, line, $"'{name}' is {value.GetRawText()}; expected a number or a non-empty string"),
        };
    }

    static string StringField(string path, int line, JsonElement root, string name)
    {
        var value = Required(path, line, root, name);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new ContrastiveSetFormatException(path, line, $"'{name}' is a {value.ValueKind.ToString().ToLowerInvariant()}; expected a string");
    }
}
