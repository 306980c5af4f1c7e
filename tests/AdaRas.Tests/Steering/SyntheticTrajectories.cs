using System.Text.Json;

namespace AdaRas.Tests.Steering;

/// <summary>Small contrastive sets written by tests: a few short "correct" and "incorrect" trajectories.</summary>
public static class SyntheticTrajectories
{
    public sealed record Row(object Id, object SampleId, string Question, string Thinking, object IsGood);

    static readonly string[] Questions =
    [
        "What is 12 + 7?",
        "A train travels 60 miles in 1.5 hours. What is its speed?",
        "How many legs do 3 spiders have?",
    ];

    /// <summary>
    /// <paramref name="perClass"/> correct and as many incorrect trajectories over three questions; correct ones
    /// reason step by step, incorrect ones guess, so the classes differ in content as well as in label.
    /// </summary>
    public static List<Row> Make(int perClass, int seed = 1)
    {
        var rng = new Random(seed);
        var rows = new List<Row>();
        for (int k = 0; k < 2 * perClass; k++)
        {
            bool good = k % 2 == 0;
            int q = k % Questions.Length;
            string thinking = good
                ? $"\nLet me compute step by step. First {rng.Next(2, 40)} then {rng.Next(2, 40)}, so I check it again.\n</think>\nThe answer is \\boxed{{{rng.Next(10, 99)}}}."
                : $"\nHmm, maybe it is {rng.Next(100, 999)}? I guess so, no need to check.\n</think>\nThe answer is \\boxed{{{rng.Next(100, 999)}}}.";
            rows.Add(new Row(q, k / Questions.Length, Questions[q], thinking, good));
        }
        return rows;
    }

    public static string Line(Row r) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = r.Id, ["_id"] = r.SampleId, ["question"] = r.Question, ["thinking"] = r.Thinking, ["is_good"] = r.IsGood,
        ["answer_content"] = "ignored",
    });

    public static string Write(string path, IEnumerable<Row> rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, rows.Select(Line));
        return path;
    }

    /// <summary>The text the model reads for a row (docs/ARCHITECTURE.md, method step 1), written out independently of the loader.</summary>
    public static string Text(Row r) => "Question: " + r.Question + "\nThinking process:" + r.Thinking;
}
