using AdaRas.Evaluation.Benchmarks;

namespace AdaRas.Evaluation.Answers;

/// <summary>
/// The verdict on one model output: what was extracted from it (the boxed answer, or the program run),
/// whether it is correct, and a short reason when it is not (e.g. "no \boxed{}", "timeout", "AssertionError").
/// <paramref name="BaseCorrect"/> is code's second verdict: EvalPlus's base tests alone (<paramref name="Correct"/>
/// is base+plus); null for math.
/// </summary>
internal sealed record AnswerCheck(string? Extracted, bool Correct, string? Detail = null, bool? BaseCorrect = null);

/// <summary>Scores a model's whole generated text against a benchmark sample.</summary>
internal interface IAnswerChecker
{
    AnswerCheck Check(BenchmarkSample sample, string modelText, CancellationToken cancellationToken = default);
}

/// <summary>
/// Math: the last box of the final content, compared with <see cref="MathEquivalence"/>. With
/// <paramref name="unfinishedThoughtCounts"/> an output whose thought never closed is scored by the last box of
/// its whole text, as the paper's <c>split("&lt;/think&gt;")[-1]</c> does; otherwise it has no answer.
/// </summary>
internal sealed class MathAnswerChecker(bool unfinishedThoughtCounts = false) : IAnswerChecker
{
    public AnswerCheck Check(BenchmarkSample sample, string modelText, CancellationToken cancellationToken = default)
    {
        if (sample.Answer is null) throw new ArgumentException($"sample {sample.Id} has no reference answer", nameof(sample));
        var content = ModelOutput.FinalContent(modelText, unfinishedThoughtCounts);
        var boxed = BoxedAnswer.ExtractLast(content);
        if (boxed is null)
            return new AnswerCheck(null, false, ModelOutput.IsUnfinished(modelText) ? "unfinished thinking" : "no \\boxed{} answer");
        return new AnswerCheck(boxed, MathEquivalence.AreEquivalent(boxed, sample.Answer));
    }
}
