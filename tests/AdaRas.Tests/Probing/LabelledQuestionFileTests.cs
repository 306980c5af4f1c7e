using AdaRas.Model;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Probing.Features;

namespace AdaRas.Tests.Probing;

public class LabelledQuestionFileTests
{
    [Test]
    public void ReadsThePapersFormat_BoolAndStringLabels_NumberAndStringIds_Thinking()
    {
        var path = QuestionFiles.Write("ok.jsonl",
            """{"id": 568, "question": "Nine people sit down.", "answer": "216", "year": 2012, "is_good": true, "domain": "x"}""",
            "",
            """{"id": "a-2", "_id": 1, "question": "Q2", "is_good": "False", "thinking": "\nOkay, so"}""",
            """{"id": 7, "question": "Q3", "is_good": "True"}""",
            """{"id": 8, "question": "Q4", "is_good": false}""");
        var set = LabelledQuestionFile.Load(path);
        Assert.That(set.Questions.Select(q => q.Id), Is.EqualTo(new[] { "568", "a-2", "7", "8" }));
        Assert.That(set.Labels, Is.EqualTo(new[] { true, false, true, false }));
        Assert.That(set.Questions.Select(q => q.Line), Is.EqualTo(new[] { 1, 3, 4, 5 }));
        Assert.That((set.Correct, set.Incorrect, set.HasThinking), Is.EqualTo((2, 2, false)));
        Assert.That(set.Questions[1].Text(withTrajectory: true), Is.EqualTo("Question: Q2\nThinking process:\nOkay, so"));
        Assert.That(set.Questions[0].Text(withTrajectory: false), Is.EqualTo("Nine people sit down."));
        Assert.Throws<InvalidOperationException>(() => set.Questions[0].Text(withTrajectory: true));
    }

    [Test]
    public void IdsRepeatAcrossYearsAndTrajectories_ButNotWithin()
    {
        // The paper's AIME splits reuse ids across years; contrastive sets repeat an id once per trajectory (_id).
        var ok = QuestionFiles.Write("aime.jsonl",
            """{"id": 82, "question": "A", "year": 1988, "is_good": true}""",
            """{"id": 82, "question": "B", "year": 2024, "is_good": false}""",
            """{"id": 5, "_id": 0, "question": "C", "thinking": "t", "is_good": true}""",
            """{"id": 5, "_id": 1, "question": "C", "thinking": "u", "is_good": false}""");
        Assert.That(LabelledQuestionFile.Load(ok).Count, Is.EqualTo(4));

        var bad = QuestionFiles.Write("dup.jsonl",
            """{"id": 82, "question": "A", "year": 1988, "is_good": true}""",
            """{"id": 3, "question": "B", "is_good": false}""",
            """{"id": 82, "question": "C", "year": 1988, "is_good": false}""");
        var e = Assert.Throws<JsonLinesException>(() => LabelledQuestionFile.Load(bad));
        Assert.That(e!.Message, Does.StartWith($"{bad}:3:").And.Contain("duplicate id 82 (year 1988) (first at line 1)"));
    }

    [TestCase("""{"question": "Q", "is_good": true}""", "missing field 'id'")]
    [TestCase("""{"id": 1, "is_good": true}""", "missing field 'question'")]
    [TestCase("""{"id": 1, "question": "Q"}""", "missing field 'is_good'")]
    [TestCase("""{"id": 1, "question": "Q", "is_good": "yes"}""", "field 'is_good' must be true/false")]
    [TestCase("""{"id": 1, "question": 5, "is_good": true}""", "field 'question' must be a string")]
    [TestCase("""{"id": [1], "question": "Q", "is_good": true}""", "field 'id' must be a string or number")]
    [TestCase("""{"id": 1, "question": "  ", "is_good": true}""", "field 'question' is empty")]
    [TestCase("""{"id": 1, "question": "Q", "is_good": true""", "invalid JSON")]
    [TestCase("""[1, 2]""", "expected a JSON object")]
    public void BadLines_AreNamedByFileAndLine(string badLine, string expected)
    {
        var path = QuestionFiles.Write("bad.jsonl", QuestionFiles.Row(1000, "fine", true), badLine);
        var e = Assert.Throws<JsonLinesException>(() => LabelledQuestionFile.Load(path));
        Assert.That(e!.Message, Does.StartWith($"{path}:2:").And.Contain(expected));
        Assert.That(e.Line, Is.EqualTo(2));
    }

    [Test]
    public void TrajectoryFilesNeedThinking_EmptyFilesAndOneClassAreRefused()
    {
        var noThinking = QuestionFiles.Write("nothink.jsonl", QuestionFiles.Row(1, "Q", true, "t"), QuestionFiles.Row(2, "R", false));
        var e = Assert.Throws<JsonLinesException>(() => LabelledQuestionFile.Load(noThinking, requireThinking: true));
        Assert.That(e!.Message, Does.StartWith($"{noThinking}:2:").And.Contain("thinking"));

        var empty = QuestionFiles.Write("empty.jsonl", "", "  ");
        Assert.That(Assert.Throws<JsonLinesException>(() => LabelledQuestionFile.Load(empty))!.Message, Does.Contain("no questions"));

        var oneClass = LabelledQuestionFile.Load(QuestionFiles.Write("one.jsonl", QuestionFiles.Row(1, "Q", true), QuestionFiles.Row(2, "R", true)));
        var c = Assert.Throws<JsonLinesException>(() => oneClass.RequireBothClasses());
        Assert.That(c!.Message, Does.Contain(oneClass.Path).And.Contain("all 2 questions are labelled is_good=true"));

        Assert.Throws<FileNotFoundException>(() => LabelledQuestionFile.Load(Path.Combine(QuestionFiles.Folder, "absent.jsonl")));
    }

    [Test]
    public void TheShippedAimeSplitsLoad()
    {
        var train = LabelledQuestionFile.Load(BenchmarkCatalog.PathOf("aime-train"));
        var validation = LabelledQuestionFile.Load(BenchmarkCatalog.PathOf("aime-validation"));
        Assert.That((train.Count, train.Correct, train.Incorrect), Is.EqualTo((662, 392, 270)));
        Assert.That((validation.Count, validation.Correct, validation.Incorrect), Is.EqualTo((166, 99, 67)));
    }
}
