using AdaRas.Evaluation.Benchmarks;

namespace AdaRas.Evaluation.Prompts;

/// <summary>
/// The user message the paper's code builds for each task. The chat template (and thinking mode) is applied
/// by the engine around this text.
/// </summary>
public static class PromptBuilder
{
    public static string MathUserMessage(string question) =>
        $"Question: {question}\nThinking process:\nPlease provide a step-by-step thinking process and put your final answer in \\boxed{{}}.";

    /// <summary>Code questions are sent as they are (HumanEval prompt / MBPP docstring with its assert).</summary>
    public static string CodeUserMessage(string question) => question;

    public static string UserMessage(BenchmarkSample sample, BenchmarkTask task) => task switch
    {
        BenchmarkTask.Math => MathUserMessage(sample.Question),
        BenchmarkTask.Code => CodeUserMessage(sample.Question),
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };
}
