using AdaRas.Workflows;
using AdaRas.Model;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Prompts;

namespace AdaRas.Tests.Evaluation;

[TestFixture]
internal class BenchmarkTests
{
    [TestCase("aime24", 23, BenchmarkTask.Math)]
    [TestCase("aime25", 22, BenchmarkTask.Math)]
    [TestCase("aime", 150, BenchmarkTask.Math)]
    [TestCase("amc", 91, BenchmarkTask.Math)]
    [TestCase("math500", 500, BenchmarkTask.Math)]
    [TestCase("gsm8k", 1319, BenchmarkTask.Math)]
    [TestCase("humaneval", 149, BenchmarkTask.Code)]
    [TestCase("mbpp", 378, BenchmarkTask.Code)]
    [TestCase("aime-train", 662, BenchmarkTask.Math)]
    [TestCase("aime-validation", 166, BenchmarkTask.Math)]
    [TestCase("amc-train", 43, BenchmarkTask.Math)]
    [TestCase("math-train", 700, BenchmarkTask.Math)]
    [TestCase("math-validation", 300, BenchmarkTask.Math)]
    [TestCase("gsm8k-train", 1200, BenchmarkTask.Math)]
    [TestCase("gsm8k-validation", 500, BenchmarkTask.Math)]
    [TestCase("humaneval-train", 15, BenchmarkTask.Code)]
    [TestCase("mbpp-train", 120, BenchmarkTask.Code)]
    [TestCase("mbpp-validation", 43, BenchmarkTask.Code)]
    public void ShippedBenchmarksLoadWithTheirCounts(string name, int count, BenchmarkTask task)
    {
        var b = BenchmarkCatalog.Load(name);
        Assert.That(b.Count, Is.EqualTo(count));
        Assert.That(b.Task, Is.EqualTo(task));
        Assert.That(b.Samples.Select(s => s.Index), Is.EqualTo(Enumerable.Range(0, count)));
        if (task == BenchmarkTask.Math) Assert.That(b.Samples.All(s => !string.IsNullOrWhiteSpace(s.Answer)));
        else Assert.That(b.Samples.All(s => s.Test is not null && s.EntryPoint is not null));
    }

    [Test]
    public void ShippedDataIsBesideTheBuildOutput() =>
        Assert.That(BenchmarkCatalog.DataDirectory, Does.StartWith(AppContext.BaseDirectory));

    [Test]
    public void ContrastiveSetsAreShipped()
    {
        foreach (var name in BenchmarkCatalog.ContrastiveSets.Keys)
            Assert.That(File.ReadLines(BenchmarkCatalog.ContrastivePath(name)).Count(), Is.EqualTo(120), name);
    }

    [Test]
    public void IsGoodAcceptsBoolsAndStrings()
    {
        var file = Write("""
            {"id": 1, "question": "q1", "answer": "1", "is_good": true}
            {"id": 2, "question": "q2", "answer": "2", "is_good": "False"}
            {"id": "x3", "question": "q3", "answer": 3, "is_good": "True", "extra": [1, 2]}

            {"id": 4, "question": "q4", "answer": "4"}
            """);
        var b = BenchmarkFile.Load(file, BenchmarkTask.Math);
        Assert.That(b.Samples.Select(s => s.IsGood), Is.EqualTo(new bool?[] { true, false, true, null }));
        Assert.That(b.Samples.Select(s => s.Id), Is.EqualTo(new[] { "1", "2", "x3", "4" }));
        Assert.That(b.Samples[2].Answer, Is.EqualTo("3"));
        Assert.That(b.Samples[3].Line, Is.EqualTo(5), "line numbers count blank lines");
    }

    [TestCase("{\"id\": 1, \"question\": \"q\", \"answer\": \"1\"}\n{\"id\": 2, \"question\": \"q\", \"answer\": \"2\"\n", 2, "invalid JSON")]
    [TestCase("{\"id\": 1, \"answer\": \"1\"}\n", 1, "missing field 'question'")]
    [TestCase("{\"question\": \"q\", \"answer\": \"1\"}\n", 1, "missing field 'id'")]
    [TestCase("{\"id\": 1, \"question\": \"q\"}\n", 1, "missing field 'answer'")]
    [TestCase("{\"id\": 1, \"question\": \"q\", \"answer\": \"1\"}\n\n{\"id\": 1, \"question\": \"r\", \"answer\": \"2\"}\n", 3, "duplicate id 1 (first at line 1)")]
    [TestCase("{\"id\": 1, \"question\": \"q\", \"answer\": \"1\", \"is_good\": \"yes\"}\n", 1, "is_good")]
    [TestCase("[1, 2]\n", 1, "expected a JSON object")]
    [TestCase("{\"id\": [1], \"question\": \"q\", \"answer\": \"1\"}\n", 1, "field 'id'")]
    [TestCase("{\"id\": 1, \"question\": 5, \"answer\": \"1\"}\n", 1, "field 'question' must be a string")]
    public void MalformedMathFilesNameFileAndLine(string content, int line, string problem)
    {
        var file = Write(content);
        var e = Assert.Throws<JsonLinesException>(() => BenchmarkFile.Load(file, BenchmarkTask.Math))!;
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(e.Message, Does.StartWith($"{file}:{line}: "));
        Assert.That(e.Message, Does.Contain(problem));
    }

    [Test]
    public void MalformedCodeFilesNameFileAndLine()
    {
        var noEntry = Write("{\"id\": 1, \"question\": \"assert f(1) == 1\"}\n");
        Assert.That(() => BenchmarkFile.Load(noEntry, BenchmarkTask.Code),
            Throws.TypeOf<JsonLinesException>().With.Message.Contains(":1: missing field 'entry_point'"));
        var noTests = Write("{\"id\": 1, \"question\": \"write f\", \"entry_point\": \"f\"}\n");
        Assert.That(() => BenchmarkFile.Load(noTests, BenchmarkTask.Code),
            Throws.TypeOf<JsonLinesException>().With.Message.Contains("no assert lines"));
        var unknown = Write("{\"id\": 1, \"question\": \"q\", \"entry_point\": \"f\", \"task_id\": \"HumanEval/999\"}\n");
        Assert.That(() => BenchmarkFile.Load(unknown, BenchmarkTask.Code),
            Throws.TypeOf<JsonLinesException>().With.Message.Contains("HumanEval/999 is not in"));
        var wrongEntry = Write("{\"id\": 1, \"question\": \"q\", \"entry_point\": \"g\", \"task_id\": \"HumanEval/0\"}\n");
        Assert.That(() => BenchmarkFile.Load(wrongEntry, BenchmarkTask.Code),
            Throws.TypeOf<JsonLinesException>().With.Message.Contains("differs from HumanEval's 'has_close_elements'"));
    }

    [Test]
    public void AimeTrainingSplitReusesIdsAndIsRefusedUnlessAllowed()
    {
        var path = BenchmarkCatalog.PathOf("aime-train");
        var e = Assert.Throws<JsonLinesException>(() => BenchmarkFile.Load(path, BenchmarkTask.Math))!;
        Assert.That(e.Message, Does.Contain("duplicate id"));
        Assert.That(BenchmarkFile.Load(path, BenchmarkTask.Math, allowDuplicateIds: true).Count, Is.EqualTo(662));
    }

    [Test]
    public void HumanEvalTestsAreJoinedByTaskId()
    {
        var b = BenchmarkCatalog.Load("humaneval");
        var first = b.Samples[0];
        Assert.That(first.TaskId, Is.EqualTo("HumanEval/0"));
        Assert.That(first.Test!.Prelude, Is.EqualTo(first.Question));
        Assert.That(first.Test.Assertions, Does.Contain("def check(candidate)"));
        Assert.That(first.Test.Assertions.TrimEnd(), Does.EndWith("check(has_close_elements)"));
        Assert.That(b.Samples.Select(s => s.TaskId).Distinct().Count(), Is.EqualTo(149));
        Assert.That(CodeTests.HumanEvalProblems.Count, Is.EqualTo(164));
        Assert.That(File.Exists(Path.Combine(Path.GetDirectoryName(CodeTests.HumanEvalPath)!, "LICENSE")), "MIT licence beside the data");
    }

    [Test]
    public void MbppTestsAreTheAssertsOfTheQuestion()
    {
        var b = BenchmarkCatalog.Load("mbpp");
        var first = b.Samples[0];
        Assert.That(first.TaskId, Is.EqualTo("Mbpp/2"));
        Assert.That(first.Test!.Prelude, Is.Empty);
        Assert.That(first.Test.Assertions, Does.Contain("assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))"));
        Assert.That(b.Samples.All(s => s.Test!.Assertions.Contains("assert ") && s.Test.Assertions.Contains(s.EntryPoint!)));
    }

    [Test]
    public void AssertsSpanningLinesAreKeptWhole()
    {
        var asserts = CodeTests.AssertsInText("\"\"\"\nWrite f.\nassert f([1,\n   2]) == [\n 2, 1]\nassert f([]) == []\n\"\"\"\n");
        Assert.That(asserts, Is.EqualTo(new[] { "assert f([1,\n   2]) == [\n 2, 1]", "assert f([]) == []" }));
    }

    [Test]
    public void OpenTakesNamesOrPaths()
    {
        Assert.That(BenchmarkCatalog.Open("aime24", BenchmarkTask.Math).Count, Is.EqualTo(23));
        Assert.That(BenchmarkCatalog.Open(BenchmarkCatalog.PathOf("aime25"), BenchmarkTask.Math).Count, Is.EqualTo(22));
        Assert.That(() => BenchmarkCatalog.Open("humaneval", BenchmarkTask.Math), Throws.InstanceOf<InputException>());
        Assert.That(() => BenchmarkCatalog.Open("nope", BenchmarkTask.Math), Throws.InstanceOf<InputException>().With.Message.Contains("known: aime24"));
    }

    [Test]
    public void PromptsAreThePapers()
    {
        Assert.That(PaperPrompts.MathUserMessage("What is 1+1?"), Is.EqualTo(
            "Question: What is 1+1?\nThinking process:\nPlease provide a step-by-step thinking process and put your final answer in \\boxed{}."));
        var code = BenchmarkCatalog.Load("mbpp").Samples[0];
        Assert.That(PromptBuilder.UserMessage(code, BenchmarkTask.Code), Is.EqualTo(code.Question));
    }

    static readonly string Scratch = Path.Combine(Path.GetTempPath(), $"adaras-bench-{Guid.NewGuid():N}");

    [OneTimeTearDown]
    public void RemoveScratch()
    {
        if (Directory.Exists(Scratch)) Directory.Delete(Scratch, recursive: true);
    }

    static string Write(string content)
    {
        var path = Path.Combine(Scratch, $"{Guid.NewGuid():N}.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }
}
