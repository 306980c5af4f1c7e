using AdaRas.Engine;
using AdaRas.Serving.Steering;

namespace AdaRas.Serving.Execution;

/// <summary>One generation to run: the prompt's token ids, how to generate, and how to report it.</summary>
sealed record ServingJob(int[] Prompt, GeneratorParams Parameters)
{
    /// <summary>Split the answer into reasoning and content at the think markers (chat), or not (completions).</summary>
    public bool SplitThinking { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Null: no log-probabilities. n >= 0: each generated token's, with the n most likely alternatives.</summary>
    public int? Logprobs { get; init; }
    /// <summary>Also score the prompt's tokens (completions with echo and logprobs).</summary>
    public bool PromptLogprobs { get; init; }
    public ResolvedSteering? Steering { get; init; }
    /// <summary>The text the gate reads (the last user message), when the steering asks for the gate.</summary>
    public string GateQuestion { get; init; } = "";
}

/// <summary>A token's log-probability and the most likely alternatives at its position.</summary>
public sealed record TokenLogprob(int Id, string Token, double Logprob, IReadOnlyList<KeyValuePair<string, double>> Top);

/// <summary>One generated token as it streams: its text (after the think split and stop strings) and its log-probability.</summary>
sealed record TokenOutput(int Id, TextDelta Text, TokenLogprob? Logprob);

/// <summary>How a generation ended.</summary>
sealed record GenerationOutcome(
    string FinishReason, int PromptTokens, int CompletionTokens, IReadOnlyList<TokenLogprob?>? PromptLogprobs,
    SteeringOutcome? Steering, TextDelta Tail, double PrefillSeconds, double DecodeSeconds);
