using System.Text;
using System.Text.Json;

namespace AdaRas.Probing.Features;

/// <summary>
/// One labelled row of the paper's classifier splits (<c>{id, question, is_good, ...}</c>) or contrastive sets
/// (which add <c>_id</c> and <c>thinking</c>). <see cref="Line"/> is the 1-based line in its file.
/// </summary>
public sealed record LabelledQuestion(string Id, string Question, bool IsGood, string? Thinking, int Line)
{
    /// <summary>
    /// What the model reads, raw (no chat template): the question alone, or with the trajectory the contrastive
    /// text <c>"Question: " + question + "\nThinking process:" + thinking</c> (DESIGN.md step 1).
    /// </summary>
    public string Text(bool withTrajectory) => !withTrajectory
        ? Question
        : "Question: " + Question + "\nThinking process:" +
          (Thinking ?? throw new InvalidOperationException($"question {Id} (line {Line}) has no 'thinking' field"));
}

/// <summary>A question file's rows, in file order.</summary>
public sealed record LabelledQuestionSet(string Path, IReadOnlyList<LabelledQuestion> Questions)
{
    public int Count => Questions.Count;
    public int Correct => Questions.Count(q => q.IsGood);
    public int Incorrect => Count - Correct;
    public bool[] Labels => Questions.Select(q => q.IsGood).ToArray();
    public bool HasThinking => Questions.All(q => q.Thinking is not null);
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>A correctness classifier needs both classes; says which file has only one.</summary>
    public LabelledQuestionSet RequireBothClasses()
    {
        if (Correct == 0 || Incorrect == 0)
            throw new QuestionFileException(Path, 0,
                $"all {Count} questions are labelled is_good={(Correct == 0 ? "false" : "true")}; " +
                "a correctness classifier needs both correct and incorrect questions");
        return this;
    }
}

/// <summary>A question file is malformed; the message names the file and line.</summary>
public sealed class QuestionFileException(string path, int line, string message)
    : FormatException(line > 0 ? $"{path}:{line}: {message}" : $"{path}: {message}")
{
    public string FilePath { get; } = path;
    public int Line { get; } = line;
}

/// <summary>
/// Reads labelled question files in the paper's JSONL format: one object per line with <c>id</c> (string or
/// number), <c>question</c> (string) and <c>is_good</c> (true/false or "True"/"False"); <c>thinking</c> is read
/// when present (contrastive sets); other fields are ignored and blank lines skipped.
/// <para>
/// A row's identity is its <c>id</c> qualified by <c>year</c> and <c>_id</c> where the file has them: the paper's
/// AIME splits reuse ids across years, and the contrastive sets give each question several trajectories
/// (<c>_id</c>). Two rows with the same identity are an error, as are a bad line, a missing field or a wrong type.
/// </para>
/// (AdaRas.Evaluation reads the same files as benchmarks; Probing sits below it and needs only these fields.)
/// </summary>
public static class LabelledQuestionFile
{
    /// <param name="requireThinking">Also require a string <c>thinking</c> on every row (trajectory probes).</param>
    public static LabelledQuestionSet Load(string path, bool requireThinking = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{full}: question file not found", full);
        var questions = new List<LabelledQuestion>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        using var reader = new StreamReader(full, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
        try
        {
            while (reader.ReadLine() is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var (question, key) = Parse(full, lineNumber, line, requireThinking);
                if (firstLine.TryGetValue(key, out int first))
                    throw new QuestionFileException(full, lineNumber, $"duplicate id {key} (first at line {first})");
                firstLine[key] = lineNumber;
                questions.Add(question);
            }
        }
        catch (DecoderFallbackException e)
        {
            throw new QuestionFileException(full, lineNumber + 1, $"not valid UTF-8 ({e.Message})");
        }
        if (questions.Count == 0) throw new QuestionFileException(full, 0, "no questions");
        return new LabelledQuestionSet(full, questions);
    }

    static (LabelledQuestion Question, string Key) Parse(string file, int line, string text, bool requireThinking)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new QuestionFileException(file, line, $"invalid JSON ({e.Message})"); }
        using (doc)
        {
            var row = doc.RootElement;
            if (row.ValueKind != JsonValueKind.Object)
                throw new QuestionFileException(file, line, $"expected a JSON object, found {row.ValueKind}");
            string id = Scalar(file, line, row, "id") ?? throw Missing(file, line, "id");
            string question = String(file, line, row, "question") ?? throw Missing(file, line, "question");
            if (question.Trim().Length == 0) throw new QuestionFileException(file, line, "field 'question' is empty");
            bool isGood = IsGood(file, line, row) ?? throw Missing(file, line, "is_good");
            string? thinking = String(file, line, row, "thinking");
            if (requireThinking && thinking is null)
                throw new QuestionFileException(file, line, "missing field 'thinking' (needed for a trajectory probe)");

            var key = new StringBuilder(id);
            if (Scalar(file, line, row, "year") is { } year) key.Append($" (year {year})");
            if (Scalar(file, line, row, "_id") is { } trajectory) key.Append($" (_id {trajectory})");
            return (new LabelledQuestion(id, question, isGood, thinking, line), key.ToString());
        }
    }

    static QuestionFileException Missing(string file, int line, string field) => new(file, line, $"missing field '{field}'");

    static string? String(string file, int line, JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : throw new QuestionFileException(file, line, $"field '{name}' must be a string, found {v.ValueKind}");
    }

    /// <summary>A string, or a number kept in its JSON spelling (ids are numbers in most of the paper's files).</summary>
    static string? Scalar(string file, int line, JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => throw new QuestionFileException(file, line, $"field '{name}' must be a string or number, found {v.ValueKind}"),
        };
    }

    static bool? IsGood(string file, int line, JsonElement row)
    {
        if (!row.TryGetProperty("is_good", out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when v.GetString() is "True" or "true" => true,
            JsonValueKind.String when v.GetString() is "False" or "false" => false,
            _ => throw new QuestionFileException(file, line,
                $"field 'is_good' must be true/false or \"True\"/\"False\", found {v.GetRawText()}"),
        };
    }
}
