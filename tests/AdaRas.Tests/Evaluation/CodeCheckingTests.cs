using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Code;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// EvalPlus-grade code scoring: sanitize, base and plus inputs, expected outputs from the canonical solutions,
/// comparisons outside the sandbox.
/// </summary>
[TestFixture]
[NonParallelizable]
public class CodeCheckingTests
{
    static CodeAnswerChecker? _checker;
    static CodeAnswerChecker Checker => _checker ??= new CodeAnswerChecker(new PythonSandbox());

    [OneTimeTearDown]
    public void DisposeChecker() { _checker?.Dispose(); _checker = null; }

    static BenchmarkSample Sample(string taskId) =>
        new(0, taskId, "", null, null, taskId, EvalPlusData.Find(taskId)!.EntryPoint);

    const string HasCloseElements =
        "from typing import List\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n" +
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n";

    [Test]
    public void CorrectCodeFollowedByDemoCodeAssertsAndInputPasses()
    {
        // Item 7 and issue 11 item 4: a model's own failing example, input() and a __main__ block are not the tests.
        var text = "</think>Here it is:\n```python\n" + HasCloseElements +
                   "\nprint(has_close_elements([1.0, 2.0], 0.5))\nassert has_close_elements([1.0], 0.5) is True\nx = input()\n" +
                   "if __name__ == '__main__':\n    input()\n    raise SystemExit(1)\n```\n";
        var verdict = Checker.CheckCode(Sample("HumanEval/0"), text);
        Assert.That(verdict.BasePlus, Is.True, verdict.Reason);
        Assert.That(verdict.Sanitized, Does.Not.Contain("input()").And.Not.Contain("assert").And.Contain("def has_close_elements"));

        // Control: the same demo code run as a program (what the old checker did) fails.
        var asProgram = new PythonSandbox(new SandboxLimits { Timeout = TimeSpan.FromSeconds(10) }).Run(
            HasCloseElements + "\nassert has_close_elements([1.0], 0.5) is True\n");
        Assert.That(asProgram.Passed, Is.False);
    }

    [Test]
    public void MainGuardedInputDoesNotRunWithoutSanitize()
    {
        // Not sanitized: the code is executed as EvalPlus executes it, not as __main__.
        var problem = EvalPlusData.Find("HumanEval/0")!;
        var verdict = Checker.CheckSolution(problem, HasCloseElements + "\nif __name__ == '__main__':\n    input()\n", sanitize: false);
        Assert.That(verdict.BasePlus, Is.True, verdict.Reason);
    }

    [Test]
    public void IndentedFencedBlockInsideAListItemIsDedented()
    {
        var indented = string.Join("\n", HasCloseElements.Split('\n').Select(l => l.Length > 0 ? "   " + l : l));
        var text = "</think>Steps:\n\n1. Compare every pair:\n\n   ```python\n" + indented + "\n   ```\n\n2. Done.\n";
        Assert.That(CodeExtraction.DedentFencedBlocks(text), Does.Contain("```python\nfrom typing import List\n"));
        var verdict = Checker.CheckCode(Sample("HumanEval/0"), text);
        Assert.That(verdict.BasePlus, Is.True, verdict.Reason);
    }

    [Test]
    public void WrongCodeFailsAndBaseIsReportedApartFromPlus()
    {
        var wrong = Checker.CheckCode(Sample("HumanEval/0"), "</think>```python\ndef has_close_elements(numbers, threshold):\n    return False\n```");
        Assert.That(wrong.Base, Is.False);
        Assert.That(wrong.BasePlus, Is.False);
        // Passes every base input but not the plus ones: HumanEval/0's base inputs never have a gap of exactly 0.
        var problem = EvalPlusData.Find("HumanEval/0")!;
        Assert.That(problem.BaseCount, Is.GreaterThan(0));
        Assert.That(problem.PlusCount, Is.GreaterThan(problem.BaseCount));
        var check = Checker.Check(Sample("HumanEval/0"), "</think>I don't know.");
        Assert.That(check.Correct, Is.False);
    }

    [Test]
    public void SanitizeKeepsImportsAndWhatTheEntryPointReaches()
    {
        var text = "</think>```python\nimport math\nHELPER_CONST = 3\n\ndef unused():\n    return 1\n\n" +
                   "def helper(x):\n    return x * HELPER_CONST\n\ndef has_close_elements(numbers, threshold):\n" +
                   "    return helper(0) == 0 and any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n\n" +
                   "print(has_close_elements([1.0, 1.05], 0.1))\n```\n";
        var verdict = Checker.CheckCode(Sample("HumanEval/0"), text);
        Assert.That(verdict.BasePlus, Is.True, verdict.Reason);
        Assert.That(verdict.Sanitized, Does.Contain("import math").And.Contain("HELPER_CONST = 3").And.Contain("def helper"));
        Assert.That(verdict.Sanitized, Does.Not.Contain("def unused").And.Not.Contain("print("));
    }

    [Test]
    public void ForgedResultsFromInsideTheSandboxDoNotPass()
    {
        // Issue 11 item 2: walk the frames up to the launcher, print "results" for every input, exit 0 before
        // the real calls. The comparer outside has the expected values; the forger does not.
        var forger = "import sys, os\n" +
            "def has_close_elements(numbers, threshold):\n" +
            "    f = sys._getframe()\n" +
            "    while f is not None and 'emit' not in f.f_locals:\n        f = f.f_back\n" +
            "    emit = f.f_locals['emit']\n" +
            "    for part, n in (('base', 200), ('plus', 2000)):\n" +
            "        emit({'part': part})\n" +
            "        for i in range(n):\n            emit({'i': i, 'out': True})\n" +
            "    emit({'done': True})\n    os._exit(0)\n";
        var problem = EvalPlusData.Find("HumanEval/0")!;
        var forged = Checker.CheckSolution(problem, forger, sanitize: false);
        Assert.That(forged.BasePlus, Is.False);
        Assert.That(forged.Base, Is.False);

        // An object equal to everything would pass a == comparison in the candidate's process: it cannot leave it.
        var equalsAll = "class Any:\n    def __eq__(self, other):\n        return True\n" +
                        "def has_close_elements(numbers, threshold):\n    return Any()\n";
        Assert.That(Checker.CheckSolution(problem, equalsAll, sanitize: false).Base, Is.False);
    }

    [Test]
    public void FloatsAreComparedWithEvalPlusTolerances()
    {
        // HumanEval/4 (mean absolute deviation) has atol 0: EvalPlus still allows 1e-6 on float outputs.
        var problem = EvalPlusData.Find("HumanEval/4")!;
        var close = "def mean_absolute_deviation(numbers):\n    m = sum(numbers) / len(numbers)\n" +
                    "    return sum(abs(x - m) for x in numbers) / len(numbers) + 1e-9\n";
        var far = close.Replace("1e-9", "1e-3");
        Assert.That(Checker.CheckSolution(problem, close, sanitize: false).BasePlus, Is.True);
        Assert.That(Checker.CheckSolution(problem, far, sanitize: false).BasePlus, Is.False);
    }

    /// <summary>
    /// Every HumanEval+ canonical solution passes all base and plus inputs, and its <c>return None</c> variant
    /// fails; the expected outputs are computed (or read from the cache) first.
    /// </summary>
    [Test]
    public void HumanEvalPlusCanonicalSolutionsPassAndReturnNoneVariantsFail() =>
        CanonicalAndBroken(EvalPlusData.HumanEvalPlus.Values.ToList());

    /// <summary>MBPP+: a deterministic sample of one problem in 8 (all 399 with ADARAS_FULL_MBPP_PLUS=1), to fit CI time.</summary>
    [Test]
    public void MbppPlusCanonicalSolutionsPassAndReturnNoneVariantsFail()
    {
        var all = EvalPlusData.MbppPlus.Values.OrderBy(p => int.Parse(p.TaskId.Split('/')[1])).ToList();
        bool full = Environment.GetEnvironmentVariable("ADARAS_FULL_MBPP_PLUS") == "1";
        CanonicalAndBroken(full ? all : all.Where((p, i) => i % 8 == 0).ToList());
    }

    static void CanonicalAndBroken(List<EvalPlusProblem> problems)
    {
        var failures = new ConcurrentBag<string>();
        var clock = Stopwatch.StartNew();
        ReferenceOutputs.Prefetch(problems, Checker.Sandbox);
        var expectedSeconds = clock.Elapsed.TotalSeconds;
        Parallel.ForEach(problems, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) }, problem =>
        {
            var canonical = Checker.CheckSolution(problem, problem.CanonicalProgram, sanitize: false);
            if (!canonical.BasePlus)
                failures.Add($"{problem.TaskId} canonical: base failed {canonical.BaseFailed}, plus failed {canonical.PlusFailed} {canonical.Reason}");
            var broken = problem.CanonicalProgram + $"\n\ndef {problem.EntryPoint}(*args, **kwargs):\n    return None\n";
            var none = Checker.CheckSolution(problem, broken, sanitize: false);
            if (none.BasePlus || none.Base) failures.Add($"{problem.TaskId} return None passed (base {none.Base})");
        });
        TestContext.Out.WriteLine($"{problems.Count} problems: expected outputs {expectedSeconds:F1} s (0 when cached), " +
            $"canonical and return-None runs {clock.Elapsed.TotalSeconds - expectedSeconds:F1} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(30)));
    }

    [Test]
    public void StoringExpectedOutputsRemovesTheTasksStaleEntries()
    {
        // An entry under an older key (another launcher) is never read again; the cache used to keep every one.
        var root = Directory.CreateTempSubdirectory("adaras-expected-").FullName;
        Environment.SetEnvironmentVariable("ADARAS_CACHE", root);
        try
        {
            var problem = EvalPlusData.Find("Mbpp/2")!;
            Directory.CreateDirectory(ReferenceOutputs.CacheDirectory);
            var stale = Path.Combine(ReferenceOutputs.CacheDirectory, "Mbpp-2-" + new string('A', 24) + ".json");
            var otherTask = Path.Combine(ReferenceOutputs.CacheDirectory, "Mbpp-20-" + new string('A', 24) + ".json");
            File.WriteAllText(stale, "{}");
            File.WriteAllText(otherTask, "{}");
            ReferenceOutputs.Store(problem, ReferenceOutputs.Get(problem, Checker.Sandbox, default));
            Assert.That(File.Exists(stale), Is.False);
            Assert.That(File.Exists(otherTask), Is.True);
            Assert.That(Directory.GetFiles(ReferenceOutputs.CacheDirectory, "Mbpp-2-*.json"), Has.Length.EqualTo(1));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ADARAS_CACHE", null);
            Directory.Delete(root, true);
        }
    }

    [Test]
    public void AgreesWithThePapersLabelsOnTheContrastiveGsm8kSet()
    {
        var checker = new MathAnswerChecker();
        int agree = 0, total = 0;
        var disagreements = new List<string>();
        foreach (var line in File.ReadLines(BenchmarkCatalog.ContrastivePath("gsm8k")))
        {
            using var doc = JsonDocument.Parse(line);
            var row = doc.RootElement;
            var sample = new BenchmarkSample(0, row.GetProperty("id").GetRawText(), row.GetProperty("question").GetString()!,
                row.GetProperty("gold_answer").GetString(), row.GetProperty("is_good").GetBoolean());
            var check = checker.Check(sample, "</think>" + row.GetProperty("answer_content").GetString());
            total++;
            if (check.Correct == sample.IsGood) agree++;
            else disagreements.Add($"{sample.Id}: gold {sample.Answer}, extracted '{check.Extracted}', label {sample.IsGood}");
        }
        TestContext.Out.WriteLine($"gsm8k: {agree}/{total} agree\n" + string.Join("\n", disagreements));
        Assert.That(agree, Is.GreaterThanOrEqualTo(total * 0.95), string.Join("\n", disagreements));
    }

}
