using AdaRas.Model;
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
internal sealed record Trajectory(string Id, string SampleId, string Question, string Thinking, bool IsGood, int Line)
{
    /// <summary>
    /// What the model reads, as in the paper's released code: raw text, no chat template.
    /// </summary>
    public string Text => "Question: " + Question + "\nThinking process:" + Thinking;

    /// <summary><c>{id}_{_id}</c>, for file names and messages (uniqueness is checked on the pair itself).</summary>
    public string Key => $"{Id}_{SampleId}";

    public override string ToString() => $"id={Id} _id={SampleId} (line {Line}, {(IsGood ? "correct" : "incorrect")})";
}

/// <summary>
/// The contrastive trajectories RCNs are identified from (docs/ARCHITECTURE.md, method step 1): a JSONL file with one row per
/// trajectory, <c>{id, _id, question, thinking, is_good}</c>. <c>is_good</c> may be a JSON boolean or the strings
/// "True"/"False" (as the paper's Python wrote them); other fields are ignored. Blank lines are skipped.
/// </summary>
internal sealed class ContrastiveSet
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

    /// <summary>Reads and checks every row; throws <see cref="JsonLinesException"/> naming file:line.</summary>
    public static ContrastiveSet Load(string path)
    {
        if (!File.Exists(path)) throw new JsonLinesException(path, 0, "contrastive set not found");
        var trajectories = new List<Trajectory>();
        var seen = new Dictionary<(string, string), int>();
        foreach (var line in JsonLines.Read(path))
        {
            var t = new Trajectory(Id(line, "id"), Id(line, "_id"), line.RequiredString("question"), line.RequiredString("thinking"),
                line.RequiredBool("is_good"), line.Line);
            if (seen.TryGetValue((t.Id, t.SampleId), out var first))
                throw line.Error($"duplicate trajectory id={t.Id} _id={t.SampleId} (first on line {first})");
            seen[(t.Id, t.SampleId)] = line.Line;
            trajectories.Add(t);
        }
        if (trajectories.Count == 0) throw new JsonLinesException(path, 0, "no trajectories (the file is empty)");
        return new ContrastiveSet(path, trajectories);
    }

    /// <summary>Throws unless both classes are present (the class means need at least one of each).</summary>
    public void RequireBothClasses()
    {
        if (CorrectCount == 0 || IncorrectCount == 0)
            throw new JsonLinesException(Path, 0,
                $"RCN identification needs correct and incorrect trajectories; the file has {CorrectCount} correct and {IncorrectCount} incorrect");
    }

    /// <summary>Trajectory ids become file names in the identifier's cache: a number or a non-empty string.</summary>
    static string Id(JsonLine line, string name)
    {
        var id = line.RequiredScalar(name);
        return id.Length > 0 ? id : throw line.Error($"'{name}' is empty; expected a number or a non-empty string");
    }
}
