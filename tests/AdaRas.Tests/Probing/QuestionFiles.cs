using System.Text.Json;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Probing;

/// <summary>Labelled question files (the paper's JSONL) written for a test, under the run's scratch folder.</summary>
static class QuestionFiles
{
    static readonly Lazy<string> Root = new(() =>
    {
        var folder = TestCheckpoints.NewFolder("questions");
        Directory.CreateDirectory(folder);
        return folder;
    });

    public static string Folder => Root.Value;

    public static string Row(object id, string question, object isGood, string? thinking = null) =>
        JsonSerializer.Serialize(thinking is null
            ? new Dictionary<string, object> { ["id"] = id, ["question"] = question, ["is_good"] = isGood }
            : new Dictionary<string, object> { ["id"] = id, ["question"] = question, ["is_good"] = isGood, ["thinking"] = thinking });

    public static string Write(string name, params string[] lines)
    {
        var path = Path.Combine(Folder, $"{Path.GetFileNameWithoutExtension(name)}-{Guid.NewGuid():N}{Path.GetExtension(name)}");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    /// <summary>
    /// Questions whose label the features can see: correct ones carry a marker word, incorrect ones don't
    /// (a tiny random model cannot predict real correctness). Deterministic for a seed.
    /// </summary>
    /// <param name="markerLast">End correct questions with the marker (no "?"), so the last token's activations see it.</param>
    public static string[] MarkerRows(int count, int seed, string marker = "zebra", bool markerLast = false)
    {
        string[] words = ["apples", "train", "sum", "number", "circle", "twice", "river", "boxes", "prime", "angle", "coins", "ratio"];
        var rng = new Random(seed);
        var rows = new string[count];
        for (int q = 0; q < count; q++)
        {
            bool good = q % 2 == 0;
            var text = Enumerable.Range(0, rng.Next(5, 10)).Select(_ => words[rng.Next(words.Length)]).ToList();
            if (good) text.Insert(markerLast ? text.Count : rng.Next(text.Count + 1), marker);
            rows[q] = Row(seed * 1000 + q, "How many " + string.Join(" ", text) + (markerLast ? "" : "?"), good);
        }
        return rows;
    }
}
