using AdaRas.Model;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Steering;

public sealed class ContrastiveSetTests
{
    static string WriteLines(params string[] lines)
    {
        var path = Path.Combine(TestCheckpoints.NewFolder("contrastive"), "set.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Test]
    public void RowsLoadInFileOrder_WithBooleanOrStringLabels_AndTheRawText()
    {
        var path = WriteLines(
            """{"id": 27, "_id": 1, "is_good": true, "question": "Q1?", "thinking": "\nthink A", "answer": "x", "gold_answer": 3}""",
            "",
            """{"id": 27, "_id": 2, "is_good": "False", "question": "Q1?", "thinking": "think B"}""",
            """{"id": "HumanEval/3", "_id": "0", "is_good": "True", "question": "def f():", "thinking": ""}""");
        var set = ContrastiveSet.Load(path);
        Assert.That(set.Name, Is.EqualTo("set"));
        Assert.That(set.Trajectories.Select(t => (t.Id, t.SampleId, t.IsGood, t.Line)),
            Is.EqualTo(new[] { ("27", "1", true, 1), ("27", "2", false, 3), ("HumanEval/3", "0", true, 4) }));
        Assert.That(set.Trajectories[0].Text, Is.EqualTo("Question: Q1?\nThinking process:\nthink A"));
        Assert.That(set.Trajectories[2].Text, Is.EqualTo("Question: def f():\nThinking process:"));
        Assert.That((set.CorrectCount, set.IncorrectCount), Is.EqualTo((2, 1)));
        Assert.DoesNotThrow(set.RequireBothClasses);
    }

    [TestCase("""{"id": 1, "_id": 0, "is_good": true, "question": "q", "thinking": "t"}""" + "\n" + "{not json", 2, "invalid JSON")]
    [TestCase("""{"_id": 0, "is_good": true, "question": "q", "thinking": "t"}""", 1, "missing field 'id'")]
    [TestCase("""{"id": 1, "is_good": true, "question": "q", "thinking": "t"}""", 1, "missing field '_id'")]
    [TestCase("""{"id": 1, "_id": 0, "is_good": true, "thinking": "t"}""", 1, "missing field 'question'")]
    [TestCase("""{"id": 1, "_id": 0, "is_good": true, "question": "q"}""", 1, "missing field 'thinking'")]
    [TestCase("""{"id": 1, "_id": 0, "question": "q", "thinking": "t"}""", 1, "missing field 'is_good'")]
    [TestCase("""{"id": 1, "_id": 0, "is_good": "yes", "question": "q", "thinking": "t"}""", 1, "field 'is_good' must be true/false or \"True\"/\"False\", found \"yes\"")]
    [TestCase("""{"id": 1, "_id": 0, "is_good": 1, "question": "q", "thinking": "t"}""", 1, "field 'is_good' must be true/false or \"True\"/\"False\", found 1")]
    [TestCase("""{"id": 1, "_id": 0, "is_good": true, "question": 5, "thinking": "t"}""", 1, "field 'question' must be a string, found Number")]
    [TestCase("""{"id": [1], "_id": 0, "is_good": true, "question": "q", "thinking": "t"}""", 1, "field 'id' must be a string or number, found Array")]
    [TestCase("""[1, 2]""", 1, "expected a JSON object")]
    [TestCase("""{"id": 1, "_id": 0, "is_good": true, "question": "q", "thinking": "t"}""" + "\n\n" +
              """{"id": 1, "_id": 0, "is_good": false, "question": "q", "thinking": "u"}""", 3, "duplicate trajectory id=1 _id=0 (first on line 1)")]
    public void BadRows_NameTheFileAndLine(string content, int line, string message)
    {
        var path = WriteLines(content.Split('\n'));
        var e = Assert.Throws<JsonLinesException>(() => ContrastiveSet.Load(path));
        Assert.That(e!.Message, Does.StartWith($"{path}:{line}: ").And.Contain(message));
        Assert.That(e.Line, Is.EqualTo(line));
    }

    [Test]
    public void EmptyOrMissingFiles_AndOneClassSets_AreRefused()
    {
        Assert.That(Assert.Throws<JsonLinesException>(() => ContrastiveSet.Load(WriteLines("", "  ")))!.Message, Does.Contain("no trajectories"));
        Assert.That(Assert.Throws<JsonLinesException>(() => ContrastiveSet.Load("/nonexistent/set.jsonl"))!.Message,
            Does.Contain("/nonexistent/set.jsonl").And.Contain("not found"));
        var onlyGood = ContrastiveSet.Load(WriteLines("""{"id": 1, "_id": 0, "is_good": true, "question": "q", "thinking": "t"}"""));
        Assert.That(Assert.Throws<JsonLinesException>(onlyGood.RequireBothClasses)!.Message, Does.Contain("1 correct and 0 incorrect"));
    }

    /// <summary>The paper's three sets (shipped with AdaRas.Evaluation, copied beside the build) load with 60 + 60 trajectories.</summary>
    [TestCase("gsm8k_results_Qwen3-32B_filtered.jsonl")]
    [TestCase("HumanEval_results_Qwen3-32B_filtered.jsonl")]
    [TestCase("Mbpp_results_Qwen3-32B_filtered.jsonl")]
    public void ThePapersContrastiveSetsLoad(string file)
    {
        var set = ContrastiveSet.Load(Path.Combine(AppContext.BaseDirectory, "data", "contrastive", file));
        Assert.That(set.Trajectories, Has.Count.EqualTo(120));
        Assert.That((set.CorrectCount, set.IncorrectCount), Is.EqualTo((60, 60)));
        Assert.That(set.Trajectories.Select(t => t.Question).Distinct().Count(), Is.EqualTo(15));
        Assert.That(set.Trajectories.All(t => t.Thinking.Length > 0 && t.Text.StartsWith("Question: ")));
    }
}
