using AdaRas.Model;
using System.Text;

namespace AdaRas.Probing.Features;

/// <summary>
/// One labelled row of the paper's classifier splits (<c>{id, question, is_good, ...}</c>) or contrastive sets
/// (which add <c>_id</c> and <c>thinking</c>). <see cref="Line"/> is the 1-based line in its file.
/// </summary>
internal sealed record LabelledQuestion(string Id, string Question, bool IsGood, string? Thinking, int Line)
{
    /// <summary>
    /// What the model reads, raw (no chat template): the question alone, or with the trajectory the contrastive
    /// text <c>"Question: " + question + "\nThinking process:" + thinking</c> (docs/ARCHITECTURE.md, method step 1).
    /// </summary>
    public string Text(bool withTrajectory) => !withTrajectory
        ? Question
        : "Question: " + Question + "\nThinking process:" +
          (Thinking ?? throw new InvalidOperationException($"question {Id} (line {Line}) has no 'thinking' field"));
}

/// <summary>A question file's rows, in file order.</summary>
internal sealed record LabelledQuestionSet(string Path, IReadOnlyList<LabelledQuestion> Questions)
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
            throw new JsonLinesException(Path, 0,
                $"all {Count} questions are labelled is_good={(Correct == 0 ? "false" : "true")}; " +
                "a correctness classifier needs both correct and incorrect questions");
        return this;
    }
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
internal static class LabelledQuestionFile
{
    /// <param name="requireThinking">Also require a string <c>thinking</c> on every row (trajectory probes).</param>
    public static LabelledQuestionSet Load(string path, bool requireThinking = false)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{full}: question file not found", full);
        var questions = new List<LabelledQuestion>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in JsonLines.Read(full))
        {
            var (question, key) = Parse(line, requireThinking);
            if (firstLine.TryGetValue(key, out int first)) throw line.Error($"duplicate id {key} (first at line {first})");
            firstLine[key] = line.Line;
            questions.Add(question);
        }
        if (questions.Count == 0) throw new JsonLinesException(full, 0, "no questions");
        return new LabelledQuestionSet(full, questions);
    }

    static (LabelledQuestion Question, string Key) Parse(JsonLine line, bool requireThinking)
    {
        string id = line.RequiredScalar("id");
        string question = line.RequiredString("question");
        if (question.Trim().Length == 0) throw line.Error("field 'question' is empty");
        bool isGood = line.RequiredBool("is_good");
        string? thinking = line.String("thinking");
        if (requireThinking && thinking is null) throw line.Error("missing field 'thinking' (needed for a trajectory probe)");

        var key = new StringBuilder(id);
        if (line.Scalar("year") is { } year) key.Append($" (year {year})");
        if (line.Scalar("_id") is { } trajectory) key.Append($" (_id {trajectory})");
        return (new LabelledQuestion(id, question, isGood, thinking, line.Line), key.ToString());
    }
}
