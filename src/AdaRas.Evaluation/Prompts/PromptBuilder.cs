using AdaRas.Evaluation.Benchmarks;
using AdaRas.Workflows;

namespace AdaRas.Evaluation.Prompts;

/// <summary>The paper's user message for a benchmark sample (<see cref="PaperPrompts"/> by task).</summary>
internal static class PromptBuilder
{
    public static string UserMessage(BenchmarkSample sample, BenchmarkTask task) => task switch
    {
        BenchmarkTask.Math => PaperPrompts.MathUserMessage(sample.Question),
        BenchmarkTask.Code => PaperPrompts.CodeUserMessage(sample.Question),
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };
}
