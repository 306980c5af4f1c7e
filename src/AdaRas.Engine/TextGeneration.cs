using System.Diagnostics;
using AdaRas.Engine.Tokenization;

namespace AdaRas.Engine;

/// <summary>What one chat generation produced.</summary>
public sealed record GenerationResult(
    string Text, string Thinking, string Content, int[] TokenIds, int PromptTokens, bool StoppedOnStopToken,
    double PrefillSeconds, double DecodeSeconds)
{
    /// <summary>Generated tokens after the first, per second of decoding.</summary>
    public double DecodeTokensPerSecond => TokenIds.Length > 1 ? (TokenIds.Length - 1) / DecodeSeconds : 0;

    /// <summary>Why the job did not run (its prompt cannot fit the context); null when it ran. A failed result has no tokens.</summary>
    public string? Failure { get; init; }

    internal static GenerationResult Failed(int promptTokens, string reason) =>
        new("", "", "", [], promptTokens, false, 0, 0) { Failure = reason };
}

/// <summary>A chat request: the user message rendered with Qwen3's chat template.</summary>
public sealed record ChatRequest(string UserMessage)
{
    /// <summary>Optional system message before the user's.</summary>
    public string? SystemMessage { get; init; }
    /// <summary>False renders Qwen3's empty think block, so the model answers without reasoning.</summary>
    public bool EnableThinking { get; init; } = true;
    /// <summary>Feed <see cref="UserMessage"/> as-is, without the chat template.</summary>
    public bool Raw { get; init; }

    /// <summary>The text fed to the tokenizer.</summary>
    public string Render() => Raw ? UserMessage : Qwen3ChatTemplate.Render(UserMessage, SystemMessage, EnableThinking);
}

/// <summary>
/// Text in, text out: renders the chat template, tokenizes, generates with optional steering, streams
/// decoded text and splits the answer into thinking and final content.
/// </summary>
public static class TextGeneration
{
    /// <param name="configure">Called once the generator exists and before the prompt runs (bind steering, feature taps...).</param>
    /// <param name="onStep">Called after each generated token, before the next forward pass (e.g. to switch steering mid-generation).</param>
    public static GenerationResult Generate(LanguageModel model, ChatRequest request, GeneratorParams parameters,
        Action<Generator>? configure = null, Action<string>? onText = null, Action<GenerationStep>? onStep = null,
        CancellationToken cancellation = default)
    {
        var tokenizer = model.Tokenizer;
        var prompt = tokenizer.Encode(request.Render());
        // Taps can only be read from onStep here: without it, skip their work (configure may turn them back on).
        using var generator = new Generator(model, parameters) { ActivationTaps = onStep is not null };
        configure?.Invoke(generator);
        var stream = tokenizer.CreateStream();
        var clock = Stopwatch.StartNew();
        double prefill;
        try
        {
            generator.AppendTokens(prompt);
            prefill = clock.Elapsed.TotalSeconds;
            clock.Restart();
            while (!generator.IsDone)
            {
                cancellation.ThrowIfCancellationRequested();
                generator.GenerateNextToken();
                if (!generator.StoppedOnStopToken) onText?.Invoke(stream.Decode(generator.LastToken));
                onStep?.Invoke(generator.Step);
            }
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e) { throw model.RunFailed(e, generator.Sequence.Count); }
        onText?.Invoke(stream.Flush());
        return Result(tokenizer, generator.Sequence, prompt.Length, generator.StoppedOnStopToken, prefill, clock.Elapsed.TotalSeconds);
    }

    internal static GenerationResult Result(QwenTokenizer tokenizer, IReadOnlyList<int> sequence, int promptLength, bool stopped,
        double prefillSeconds, double decodeSeconds)
    {
        var ids = sequence.Skip(promptLength).ToArray();
        // Keep special tokens such as </think> so the split below sees them; drop only the final stop token.
        var text = tokenizer.Decode(stopped ? ids[..^1] : ids);
        var split = Qwen3ChatTemplate.SplitThinking(text);
        return new GenerationResult(text, split.Thinking, split.Content, ids, promptLength, stopped, prefillSeconds, decodeSeconds);
    }
}
