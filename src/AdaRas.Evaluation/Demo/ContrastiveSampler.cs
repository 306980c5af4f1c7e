using System.Diagnostics;
using System.Text.Json;
using AdaRas.Engine;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Prompts;
using AdaRas.Model;

namespace AdaRas.Evaluation.Demo;

/// <summary>One sampled reasoning trajectory, labelled by checking its boxed answer.</summary>
public sealed record SampledTrajectory(string Id, int SampleId, string Question, string Thinking, string Answer, bool IsGood);

/// <summary>How a contrastive sampling pass went.</summary>
public sealed record ContrastiveSample(IReadOnlyList<SampledTrajectory> Kept, int Generated, int Correct, int Unfinished,
    int MixedQuestions, int Questions);

/// <summary>Where sampling stands: questions done, tokens/s, ETA.</summary>
public sealed record SamplingProgress(int Done, int Total, long Tokens, TimeSpan Elapsed)
{
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? Tokens / Elapsed.TotalSeconds : 0;
    public TimeSpan? Eta => Done == 0 ? null : Elapsed * ((double)(Total - Done) / Done);
}

/// <summary>
/// Builds a contrastive set the way the paper's were built, from the model itself: several trajectories per
/// training question sampled at a temperature above zero, each labelled by checking its boxed answer. As in the
/// paper's sets (4 correct + 4 incorrect per question), only questions answered both ways are kept, balanced, so
/// the correct-vs-incorrect contrast is about the reasoning rather than about which questions are hard.
/// </summary>
public static class ContrastiveSampler
{
    public static ContrastiveSample Sample(AdaRas.Engine.LanguageModel model, IReadOnlyList<BenchmarkSample> questions, int samplesPerQuestion,
        double temperature, int maxNewTokens, int seed, IProgress<SamplingProgress>? progress = null, CancellationToken cancellation = default)
    {
        var checker = new MathAnswerChecker();
        var kept = new List<SampledTrajectory>();
        int generated = 0, correct = 0, unfinished = 0, mixed = 0;
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        for (int q = 0; q < questions.Count; q++)
        {
            var sample = questions[q];
            var good = new List<SampledTrajectory>();
            var bad = new List<SampledTrajectory>();
            for (int s = 0; s < samplesPerQuestion; s++)
            {
                cancellation.ThrowIfCancellationRequested();
                var parameters = new GeneratorParams
                {
                    MaxNewTokens = maxNewTokens, DoSample = true, Temperature = temperature,
                    Seed = unchecked(seed * 1_000_003 + q * samplesPerQuestion + s),
                };
                var result = TextGeneration.Generate(model, new ChatRequest(PromptBuilder.MathUserMessage(sample.Question)), parameters,
                    cancellation: cancellation);
                generated++;
                tokens += result.TokenIds.Length;
                var thinking = ThinkingText(result.Text);
                if (thinking is null) { unfinished++; continue; }
                var check = checker.Check(sample, result.Text);
                if (check.Correct) correct++;
                (check.Correct ? good : bad).Add(new SampledTrajectory(sample.Id, s, sample.Question, thinking, result.Content, check.Correct));
            }
            if (good.Count > 0 && bad.Count > 0)
            {
                mixed++;
                int n = Math.Min(good.Count, bad.Count);
                kept.AddRange(good.Take(n).Concat(bad.Take(n)).OrderBy(t => t.SampleId));
            }
            progress?.Report(new SamplingProgress(q + 1, questions.Count, tokens, clock.Elapsed));
        }
        return new ContrastiveSample(kept, generated, correct, unfinished, mixed, questions.Count);
    }

    /// <summary>The text between &lt;think&gt; and the last &lt;/think&gt;, as the paper's sets store it; null if unfinished.</summary>
    public static string? ThinkingText(string generated)
    {
        int end = generated.LastIndexOf(AdaRas.Engine.Tokenization.Qwen3ChatTemplate.ThinkEnd, StringComparison.Ordinal);
        if (end < 0) return null;
        int start = generated.IndexOf(AdaRas.Engine.Tokenization.Qwen3ChatTemplate.ThinkStart, StringComparison.Ordinal);
        start = start < 0 || start > end ? 0 : start + AdaRas.Engine.Tokenization.Qwen3ChatTemplate.ThinkStart.Length;
        return generated[start..end];
    }

    /// <summary>Writes the set in the paper's contrastive JSONL format ({id, _id, question, thinking, is_good}), atomically.</summary>
    public static void Write(string path, IEnumerable<SampledTrajectory> trajectories) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false));
            foreach (var t in trajectories)
                writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["id"] = t.Id, ["_id"] = t.SampleId, ["question"] = t.Question, ["thinking"] = t.Thinking,
                    ["is_good"] = t.IsGood, ["answer_content"] = t.Answer,
                }));
        });
}
