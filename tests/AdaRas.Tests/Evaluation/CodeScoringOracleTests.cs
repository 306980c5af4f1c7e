using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Code;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// The project's EvalPlus scoring against an independent oracle (<c>independent_evalplus.py</c> beside this
/// file: its own <c>ast</c> sanitize, run and comparison, no code shared with the sandbox launcher or the
/// comparer) on the 240 shipped Qwen3-32B answers of the HumanEval and MBPP contrastive sets: the base and
/// base+plus verdicts must agree answer by answer. CI scores two answers of each problem (60 answers,
/// all base and plus inputs); <c>ADARAS_FULL_CODE_ORACLE=1</c> scores all 240.
/// </summary>
[TestFixture]
[NonParallelizable]
public class CodeScoringOracleTests
{
    sealed record Answer(string Set, int Line, string TaskId, string Content, bool Labelled);
    sealed record Verdict(bool Base, bool BasePlus);

    static List<Answer> ShippedAnswers()
    {
        var answers = new List<Answer>();
        foreach (var (set, prefix, offset) in new[] { ("humaneval", "HumanEval/", -1), ("mbpp", "Mbpp/", 0) })
        {
            int line = 0;
            foreach (var text in File.ReadLines(BenchmarkCatalog.ContrastivePath(set)))
            {
                line++;
                using var doc = JsonDocument.Parse(text);
                var r = doc.RootElement;
                var good = r.GetProperty("is_good");
                answers.Add(new Answer(set, line, prefix + (r.GetProperty("id").GetInt32() + offset), r.GetProperty("answer_content").GetString()!,
                    good.ValueKind == JsonValueKind.True || good.ValueKind == JsonValueKind.String && good.GetString() == "True"));
            }
        }
        return answers;
    }

    /// <summary>The oracle's verdicts on <paramref name="answers"/>, keyed by (set, line).</summary>
    static Dictionary<(string, int), Verdict> OracleVerdicts(IReadOnlyList<Answer> answers, string folder)
    {
        var args = new List<string> { Path.Combine(RepositoryRoot.Find(), "tests", "AdaRas.Tests", "Evaluation", "independent_evalplus.py"), EvalPlusData.Directory };
        var lineOf = new Dictionary<(string, int), (string, int)>();
        foreach (var group in answers.GroupBy(a => a.Set))
        {
            // A file of the chosen answers, in the contrastive sets' own format.
            var path = Path.Combine(folder, group.Key + ".jsonl");
            int n = 0;
            File.WriteAllLines(path, group.Select(a =>
            {
                lineOf[(Path.GetFileName(path), ++n)] = (a.Set, a.Line);
                int id = int.Parse(a.TaskId.Split('/')[1]) - (a.Set == "humaneval" ? -1 : 0);
                return JsonSerializer.Serialize(new { id, answer_content = a.Content });
            }));
            args.Add(path + (group.Key == "humaneval" ? ":humaneval:-1" : ":mbpp"));
        }
        var psi = new ProcessStartInfo(PythonSandbox.FindPython()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-I");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), stderr.Result);
        var verdicts = new Dictionary<(string, int), Verdict>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            verdicts[lineOf[(r.GetProperty("file").GetString()!, r.GetProperty("line").GetInt32())]] =
                new Verdict(r.GetProperty("base").GetBoolean(), r.GetProperty("plus").GetBoolean());
        }
        return verdicts;
    }

    [Test]
    public void ShippedQwen3AnswersGetTheVerdictsOfAnIndependentSanitizeAndRun()
    {
        var all = ShippedAnswers();
        Assert.That(all, Has.Count.EqualTo(240));
        bool full = Environment.GetEnvironmentVariable("ADARAS_FULL_CODE_ORACLE") == "1";
        var chosen = full ? all : all.GroupBy(a => a.TaskId).SelectMany(g => g.Where((_, i) => i % 4 == 0)).ToList();

        // Control with teeth: one answer the oracle passes is scored by the project with its function's body
        // turned into "return None"; the comparison below must catch exactly that one.
        var folder = Directory.CreateTempSubdirectory("adaras-oracle-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var oracle = OracleVerdicts(chosen, folder);
            var oracleSeconds = clock.Elapsed.TotalSeconds;
            Assert.That(oracle, Has.Count.EqualTo(chosen.Count));

            using var checker = new CodeAnswerChecker(new PythonSandbox());
            ReferenceOutputs.Prefetch(chosen.Select(a => EvalPlusData.Find(a.TaskId)!).Distinct().ToList(), checker.Sandbox);
            var corrupted = chosen.First(a => oracle[(a.Set, a.Line)].BasePlus);
            var ours = new ConcurrentDictionary<(string, int), Verdict>();
            Parallel.ForEach(chosen.Append(corrupted with { Line = -1 }), new ParallelOptions { MaxDegreeOfParallelism = 2 }, a =>
            {
                var problem = EvalPlusData.Find(a.TaskId)!;
                var content = a.Line == -1 ? ReturnNone(a.Content, problem.EntryPoint) : a.Content;
                var v = checker.CheckCode(new BenchmarkSample(0, a.TaskId, "", null, null, a.TaskId, problem.EntryPoint), "</think>" + content);
                ours[(a.Set, a.Line)] = new Verdict(v.Base, v.BasePlus);
            });
            TestContext.Out.WriteLine($"{chosen.Count} answers: oracle {oracleSeconds:F1} s, project {clock.Elapsed.TotalSeconds - oracleSeconds:F1} s");

            var differ = chosen.Where(a => oracle[(a.Set, a.Line)] != ours[(a.Set, a.Line)])
                .Select(a => $"{a.Set}:{a.Line} {a.TaskId}: oracle {oracle[(a.Set, a.Line)]}, project {ours[(a.Set, a.Line)]}").ToList();
            Assert.That(differ, Is.Empty, string.Join("\n", differ));
            Assert.That(ours[(corrupted.Set, -1)], Is.Not.EqualTo(oracle[(corrupted.Set, corrupted.Line)]), "the corrupted answer must be caught");

            // Not a vacuous agreement: both verdicts vary, and the plus inputs fail answers the base tests pass.
            var verdicts = chosen.Select(a => oracle[(a.Set, a.Line)]).ToList();
            Assert.That(verdicts.Count(v => v.BasePlus), Is.InRange(10, chosen.Count - 10));
            Assert.That(verdicts.Count(v => v.Base && !v.BasePlus), Is.GreaterThan(0));
            Assert.That(verdicts.Count(v => !v.Base), Is.GreaterThan(0));
            int labelAgree = chosen.Count(a => oracle[(a.Set, a.Line)].BasePlus == a.Labelled);
            TestContext.Out.WriteLine($"base pass {verdicts.Count(v => v.Base)}, base+plus pass {verdicts.Count(v => v.BasePlus)}; " +
                $"the sets' is_good labels agree with base+plus on {labelAgree}/{chosen.Count}");
        }
        finally { Directory.Delete(folder, true); }
    }

    /// <summary>The answer with a <c>return None</c> inserted as the entry point's first statement.</summary>
    static string ReturnNone(string content, string entryPoint)
    {
        var lines = content.Split('\n').ToList();
        int def = lines.FindIndex(l => l.TrimStart().StartsWith($"def {entryPoint}(", StringComparison.Ordinal));
        Assert.That(def, Is.GreaterThanOrEqualTo(0));
        int end = def;
        while (!lines[end].TrimEnd().EndsWith(':')) end++;
        var indent = lines[def][..(lines[def].Length - lines[def].TrimStart().Length)] + "    ";
        lines.Insert(end + 1, indent + "return None");
        return string.Join('\n', lines);
    }
}
