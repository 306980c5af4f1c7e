#if !ADARAS_CUDA
using System.Diagnostics;
using GenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace AdaRas.Evaluation.Speed;

/// <summary>
/// ONNX Runtime GenAI (the CPU package; NuGet here does not serve Microsoft.ML.OnnxRuntimeGenAI.Cuda) on the
/// same exported folder: the generic runtime this engine is measured against.
/// </summary>
internal sealed class GenAiRunner : IDecodeRunner
{
    readonly GenAI.Model _model;

    /// <param name="threads">intra_op_num_threads of GenAI's session (0: its default), so it runs at the engine's thread count</param>
    public GenAiRunner(string name, string folder, int threads = 0)
    {
        Name = name;
        using var config = new GenAI.Config(folder);
        if (threads > 0)
            config.Overlay("{\"model\": {\"decoder\": {\"session_options\": {\"intra_op_num_threads\": " + threads + "}}}}");
        _model = new GenAI.Model(config);
    }

    public string Name { get; }

    public DecodeTiming Run(int[] prompt, int newTokens)
    {
        using var p = new GenAI.GeneratorParams(_model);
        p.SetSearchOption("max_length", prompt.Length + newTokens + 1);
        p.SetSearchOption("min_length", prompt.Length + newTokens + 1); // never stop early on an eos id
        p.SetSearchOption("do_sample", false);
        using var generator = new GenAI.Generator(_model, p);
        var clock = Stopwatch.StartNew();
        generator.AppendTokens(prompt);
        double prefill = clock.Elapsed.TotalSeconds;
        generator.GenerateNextToken();
        clock.Restart();
        int steps = 1;
        while (steps < newTokens && !generator.IsDone())
        {
            generator.GenerateNextToken();
            steps++;
        }
        return new DecodeTiming(prefill, prompt.Length, clock.Elapsed.TotalSeconds, steps - 1);
    }

    /// <summary>Greedy token ids GenAI produces for a prompt (for interop checks).</summary>
    public int[] Greedy(int[] prompt, int newTokens)
    {
        using var p = new GenAI.GeneratorParams(_model);
        p.SetSearchOption("max_length", prompt.Length + newTokens);
        p.SetSearchOption("do_sample", false);
        using var generator = new GenAI.Generator(_model, p);
        generator.AppendTokens(prompt);
        while (!generator.IsDone()) generator.GenerateNextToken();
        return generator.GetSequence(0).ToArray();
    }

    public void Dispose() => _model.Dispose();
}
#endif
