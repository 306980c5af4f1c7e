using System.Text.Json;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// The project's math checker against the paper's grader (<see cref="PaperMathGrader"/>) on the answer-pair suite
/// in <c>data/answer-pairs/pairs.jsonl</c> (built by <c>tools/answer-pairs/make_pairs.py</c>), and the paper's
/// rule for unfinished thoughts against the checker's <c>last_box</c> mode.
/// </summary>
[TestFixture]
public class AnswerPairSuiteTests
{
    sealed record Pair(string Category, string Predicted, string Reference, bool Equal, string Source);

    static List<Pair> LoadPairs()
    {
        var path = Path.Combine(RepositoryRoot.Find(), "data", "answer-pairs", "pairs.jsonl");
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        return File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Pair>(l, options)!).ToList();
    }

    /// <summary>Per category: pairs, right verdicts of ours, right verdicts of the paper's, verdicts that differ (the README table).</summary>
    static readonly Dictionary<string, (int Pairs, int Ours, int Paper, int Differ)> Published = new()
    {
        ["reformatting"] = (1572, 1572, 795, 777),
        ["readable"] = (23, 23, 2, 21),
        ["algebra"] = (47, 47, 0, 47),
        ["near-miss"] = (1796, 1796, 1038, 758),
    };

    [Test]
    public void OurCheckerAgainstThePapersIsEquiv_OnTheAnswerPairSuite()
    {
        var pairs = LoadPairs();
        Assert.That(pairs, Has.Count.GreaterThanOrEqualTo(500));
        var table = new Dictionary<string, (int Pairs, int Ours, int Paper, int Differ)>();
        var falsePositives = new List<string>();
        foreach (var p in pairs)
        {
            bool ours = MathEquivalence.AreEquivalent(p.Predicted, p.Reference);
            bool paper = PaperMathGrader.IsEquiv(p.Predicted, p.Reference);
            Assert.That(MathEquivalence.AreEquivalent(p.Reference, p.Predicted), Is.EqualTo(ours), $"symmetric: {p}");
            if (ours && !p.Equal) falsePositives.Add($"{p.Category}: '{p.Predicted}' vs '{p.Reference}' ({p.Source})");
            var t = table.GetValueOrDefault(p.Category);
            table[p.Category] = (t.Pairs + 1, t.Ours + (ours == p.Equal ? 1 : 0), t.Paper + (paper == p.Equal ? 1 : 0), t.Differ + (ours != paper ? 1 : 0));
        }
        foreach (var (c, t) in table)
            TestContext.Out.WriteLine($"| {c} | {t.Pairs} | {t.Ours} ({100.0 * t.Ours / t.Pairs:F1}%) | {t.Paper} ({100.0 * t.Paper / t.Pairs:F1}%) | {t.Differ} |");
        Assert.That(falsePositives, Is.Empty, "a near-miss accepted:\n" + string.Join("\n", falsePositives.Take(20)));
        var algebra = table["algebra"];
        Assert.That((double)algebra.Ours / algebra.Pairs, Is.GreaterThanOrEqualTo(0.9), "the algebra group");
        Assert.That(table, Is.EquivalentTo(Published), "the README's table (update both together)");
    }

    // ------------------------------------------------------------ the oracle itself, against the rules as written

    [TestCase(@"\frac12", @"\frac{1}{2}", true)]     // _fix_fracs
    [TestCase(@"\dfrac{1}{2}", "0.5", true)]          // tfrac/dfrac, "0.5" -> \frac{1}{2}
    [TestCase("3/4", @"\frac{3}{4}", true)]           // _fix_a_slash_b
    [TestCase("3/04", @"\frac{3}{4}", false)]         // int() round trip must give the same text
    [TestCase(@"\sqrt2", @"\sqrt{2}", true)]          // _fix_sqrt
    [TestCase("x = 5", "5", true)]                    // short left side dropped
    [TestCase("abc = 5", "5", false)]                 // only up to two characters
    [TestCase(@"10\%", "10", true)]
    [TestCase("10%", "10", false)]                    // the plain percent sign stays
    [TestCase("7 5", "75", true)]                     // spaces removed: the paper's false positive
    [TestCase(@"5 \text{ or more}", "5", true)]       // "\text{ " cut: the paper's false positive
    [TestCase(@"5 \text{ a} \text{ b}", "5", false)]  // two "\text{ ": assertion fails, raw strings compared
    [TestCase(@"\left( 1, 2 \right)", "(1,2)", true)]
    [TestCase(@"90^\circ", "90", true)]
    [TestCase("1,000", "1000", false)]
    [TestCase(@"\sqrt{117}", @"3\sqrt{13}", false)]
    public void PaperOracle_FollowsTheHendrycksRules(string a, string b, bool expected) =>
        Assert.That(PaperMathGrader.IsEquiv(a, b), Is.EqualTo(expected));

    [TestCase(@"so \boxed{12} done", "12")]
    [TestCase(@"\boxed{1} and \boxed{\frac{2}{3}}", @"\frac{2}{3}")]
    [TestCase(@"\fbox{7}", null)]          // found, but remove_boxed only strips "\boxed{"
    [TestCase(@"\boxed{unclosed", null)]
    public void PaperOracle_ExtractsAsWritten(string text, string? expected) =>
        Assert.That(PaperMathGrader.RemoveBoxed(PaperMathGrader.LastBoxedOnlyString(text)), Is.EqualTo(expected));

    // ------------------------------------------------------------ unfinished thoughts: the paper's rule

    /// <summary>
    /// Outputs built from every shipped math reference: finished and unfinished thoughts, right and wrong final
    /// boxes, provisional boxes inside the thought. With <c>last_box</c> the checker must give the paper's verdict
    /// on each; with the strict rule an unfinished output is never right.
    /// </summary>
    [Test]
    public void LastBoxMode_GivesThePapersVerdict_OnFinishedAndUnfinishedOutputs()
    {
        var paperMode = new MathAnswerChecker(unfinishedThoughtCounts: true);
        var strict = new MathAnswerChecker();
        int compared = 0, unfinishedRight = 0;
        var disagreements = new List<string>();
        foreach (var name in new[] { "aime", "amc", "math500" })
            foreach (var sample in BenchmarkCatalog.Load(name).Samples)
            {
                var gold = sample.Answer!;
                var wrong = gold + "1";
                foreach (var text in new[]
                {
                    $"<think>\nworking \\boxed{{{wrong}}} then \\boxed{{{gold}}}",                  // unfinished, last box right
                    $"<think>\nworking \\boxed{{{gold}}} then \\boxed{{{wrong}}}",                  // unfinished, last box wrong
                    $"<think>\nno box yet",                                                        // unfinished, no box
                    $"<think>\n\\boxed{{{gold}}}\n</think>\n\nSo \\boxed{{{wrong}}}.",              // finished: only the final part counts
                    $"<think>\n\\boxed{{{wrong}}}\n</think>\n\nSo $\\boxed{{{gold}}}$.",
                })
                {
                    // The paper's extraction, then the same equivalence: isolates the rule for unfinished thoughts.
                    var paperAnswer = PaperMathGrader.RemoveBoxed(PaperMathGrader.LastBoxedOnlyString(text.Split("</think>")[^1]));
                    bool paper = paperAnswer is not null && MathEquivalence.AreEquivalent(paperAnswer, gold);
                    var ours = paperMode.Check(sample, text);
                    compared++;
                    if (ours.Correct != paper || ours.Extracted != paperAnswer?.Trim())
                        disagreements.Add($"{name} {sample.Id}: paper '{paperAnswer}' {paper}, ours '{ours.Extracted}' {ours.Correct}: {text}");
                    if (ModelOutput.IsUnfinished(text))
                    {
                        if (ours.Correct) unfinishedRight++;
                        var check = strict.Check(sample, text);
                        Assert.That(check.Correct, Is.False, text);
                        Assert.That(check.Detail, Is.EqualTo("unfinished thinking"));
                    }
                }
            }
        Assert.That(compared, Is.GreaterThan(3000));
        Assert.That(unfinishedRight, Is.GreaterThan(600), "the paper's rule scores unfinished outputs by their last box");
        Assert.That(disagreements, Is.Empty, string.Join("\n", disagreements.Take(10)));
    }

    [Test]
    public void AClosedThoughtWithNoFinalBox_IsNotReportedAsUnfinished()
    {
        var sample = new BenchmarkSample(0, "1", "q", "5", true);
        var check = new MathAnswerChecker().Check(sample, "<think>\nsure\n</think>\n");
        Assert.That(check.Correct, Is.False);
        Assert.That(check.Detail, Is.EqualTo("no \\boxed{} answer"));
        Assert.That(ModelOutput.IsUnfinished("<think>\nsure\n</think>\n"), Is.False);
        Assert.That(ModelOutput.IsUnfinished("<think>\nsure"), Is.True);
        Assert.That(ModelOutput.IsUnfinished("no thinking at all"), Is.False);
    }
}
