using System.Diagnostics;
using AdaRas.Engine;

namespace AdaRas.Evaluation.Speed;

/// <summary>One timed generation: a prefill of the prompt and greedy decoding of new tokens.</summary>
internal sealed record DecodeTiming(double PrefillSeconds, int PromptTokens, double DecodeSeconds, int DecodedTokens)
{
    public double PrefillTokensPerSecond => PromptTokens / PrefillSeconds;
    /// <summary>Decode forward passes per second (the first new token comes from the prefill's logits).</summary>
    public double DecodeTokensPerSecond => DecodedTokens / DecodeSeconds;
}

/// <summary>Something that can prefill a prompt and decode greedily: this engine or ONNX Runtime GenAI.</summary>
internal interface IDecodeRunner : IDisposable
{
    string Name { get; }
    DecodeTiming Run(int[] prompt, int newTokens);
}

/// <summary>This engine on an exported folder, optionally with steering tensors bound at every step.</summary>
internal sealed class EngineRunner(string name, AdaRas.Engine.LanguageModel model, SteeringTensors? steering = null) : IDecodeRunner
{
    public string Name => name;

    public DecodeTiming Run(int[] prompt, int newTokens)
    {
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = newTokens + 1, StopTokenIds = [] }) { ActivationTaps = false };
        if (steering is not null) generator.Steering = steering;
        var clock = Stopwatch.StartNew();
        generator.AppendTokens(prompt);
        double prefill = clock.Elapsed.TotalSeconds;
        generator.GenerateNextToken(); // samples from the prefill logits, then runs the first decode step
        clock.Restart();
        int steps = 1;
        while (steps < newTokens && !generator.IsDone)
        {
            generator.GenerateNextToken();
            steps++;
        }
        // Every GenerateNextToken but the first ran one forward pass; count passes that fell inside the clock.
        return new DecodeTiming(prefill, prompt.Length, clock.Elapsed.TotalSeconds, steps - 1);
    }

    public void Dispose() { }
}
