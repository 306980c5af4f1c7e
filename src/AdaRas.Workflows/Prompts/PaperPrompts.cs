namespace AdaRas.Workflows;

/// <summary>
/// The user messages the paper's code builds for each task. The chat template (and thinking mode) is applied
/// by the engine around this text. Shared by <c>generate --math</c>, the evaluation harness and the demo.
/// </summary>
internal static class PaperPrompts
{
    public static string MathUserMessage(string question) =>
        $"Question: {question}\nThinking process:\nPlease provide a step-by-step thinking process and put your final answer in \\boxed{{}}.";

    /// <summary>Code questions are sent as they are (HumanEval prompt / MBPP docstring with its assert).</summary>
    public static string CodeUserMessage(string question) => question;
}
