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
        else Assert.That(b.Samples.All(s => s.EntryPoint is not null && s.TaskId is not null));
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
        // A task EvalPlus does not know, or another entry point, loads (the gate splits have both; their labels
        // train a gate); an eval refuses them before running (ExperimentTests.ACodeSampleEvalPlusCannotScore...).
        var wrongEntry = Write("{\"id\": 1, \"question\": \"q\", \"entry_point\": \"g\", \"task_id\": \"HumanEval/999\"}\n");
        Assert.That(BenchmarkFile.Load(wrongEntry, BenchmarkTask.Code).Count, Is.EqualTo(1));
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
    public void CodeSamplesAreTheEvalPlusTasksTheyAreScoredAgainst()
    {
        // Test sets: every sample is an EvalPlus problem with the same entry point (what CodeAnswerChecker scores).
        foreach (var name in new[] { "humaneval", "mbpp", "humaneval-train" })
            foreach (var s in BenchmarkCatalog.Load(name).Samples)
                Assert.That(AdaRas.Evaluation.Code.EvalPlusData.Find(s.TaskId)?.EntryPoint, Is.EqualTo(s.EntryPoint), $"{name} {s.Id}");
        Assert.That(BenchmarkCatalog.Load("humaneval").Samples[0].TaskId, Is.EqualTo("HumanEval/0"));
        Assert.That(BenchmarkCatalog.Load("mbpp").Samples[0].TaskId, Is.EqualTo("Mbpp/2"));
        // The MBPP gate split names 9 tasks MBPP+ dropped: it loads all the same (its labels train the gate).
        Assert.That(BenchmarkCatalog.Load("mbpp-train").Samples.Count(s => AdaRas.Evaluation.Code.EvalPlusData.Find(s.TaskId) is null), Is.EqualTo(9));
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
