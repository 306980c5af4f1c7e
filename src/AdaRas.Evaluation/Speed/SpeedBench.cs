using System.Diagnostics;
using System.Text.Json;
using AdaRas.Engine;
using AdaRas.Workflows;

namespace AdaRas.Evaluation.Speed;

/// <summary>Which runtime a benchmark configuration measures.</summary>
internal enum BenchRuntime { Engine, GenAi, LlamaCpp }

/// <summary>
/// One configuration of the decode benchmark: a runtime on a model folder, optionally with steering on
/// (<see cref="SteeredNeurons"/> neurons shifted at every step, as the paper's K), a prompt and a number of new tokens.
/// </summary>
/// <remarks>
/// <see cref="ModelFolder"/> is an exported folder, or a GGUF file for llama.cpp; <see cref="Threads"/> is the
/// intra-op thread count every runtime is given (ONNX Runtime's intra_op_num_threads, GenAI's through its config,
/// llama.cpp's n_threads), so peers compare at equal threads. For llama.cpp, <see cref="SteeredNeurons"/> > 0
/// applies the control vector of the same random steering, computed from <see cref="Checkpoint"/>'s down_proj.
/// </remarks>
internal sealed record BenchConfig(string Name, BenchRuntime Runtime, string ModelFolder, int PromptTokens = 128, int NewTokens = 64,
    int Repetitions = 3, int SteeredNeurons = 0, int Threads = 0, string? Checkpoint = null);

/// <summary>Medians over repetitions, and the worker's peak resident memory (0 when run in-process).</summary>
internal sealed record BenchResult(string Name, double PrefillTokensPerSecond, double DecodeTokensPerSecond, long PeakResidentBytes,
    double[] DecodeSamples);

/// <summary>
/// The side-by-side decode benchmark behind <c>adaras bench</c>. Each configuration runs in its own worker
/// process so its peak memory is its own; the Performance tests run configurations in-process.
/// </summary>
internal static class SpeedBench
{
    public static BenchResult RunInProcess(BenchConfig config)
    {
        int vocabForPrompt;
        IDecodeRunner runner;
        SteeringTensors? steering = null;
        AdaRas.Engine.LanguageModel? model = null;
        switch (config.Runtime)
        {
            case BenchRuntime.Engine:
                model = AdaRas.Engine.LanguageModel.Load(config.ModelFolder, new ModelOptions { IntraOpThreads = config.Threads });
                vocabForPrompt = Math.Min(model.Manifest.VocabSize, 500);
                if (config.SteeredNeurons > 0) steering = RandomSteering(model, config.SteeredNeurons);
                runner = new EngineRunner(config.Name, model, steering);
                break;
#if ADARAS_CUDA
            default:
                throw new NotSupportedException("the CUDA build has no ONNX Runtime GenAI or llama.cpp");
#else
            case BenchRuntime.GenAi:
                if (config.SteeredNeurons > 0) throw new ArgumentException("steering is measured on the engine and llama.cpp only");
                runner = new GenAiRunner(config.Name, config.ModelFolder, config.Threads);
                vocabForPrompt = 500;
                break;
            case BenchRuntime.LlamaCpp:
                IReadOnlyList<float[]>? vector = null;
                if (config.SteeredNeurons > 0)
                {
                    using var checkpoint = AdaRas.Model.Checkpoint.Open(config.Checkpoint
                        ?? throw new ArgumentException("a llama.cpp row with steering needs the checkpoint for its control vector"));
                    vector = RandomControlVector(checkpoint, config.SteeredNeurons);
                }
                runner = new LlamaCpp.LlamaCppRunner(config.Name, config.ModelFolder, Math.Max(1, config.Threads),
                    config.PromptTokens + config.NewTokens + 8, vector);
                vocabForPrompt = 500;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(config));
#endif
        }
        try
        {
            var random = new Random(1234);
            var prompt = Enumerable.Range(0, config.PromptTokens).Select(_ => random.Next(vocabForPrompt)).ToArray();
            runner.Run(prompt, Math.Min(8, config.NewTokens)); // warm-up: first-touch of weights, allocator growth
            var timings = Enumerable.Range(0, config.Repetitions).Select(_ => runner.Run(prompt, config.NewTokens)).ToArray();
            return new BenchResult(config.Name,
                Medians.Of(timings.Select(t => t.PrefillTokensPerSecond)),
                Medians.Of(timings.Select(t => t.DecodeTokensPerSecond)),
                PeakResidentBytes(),
                timings.Select(t => t.DecodeTokensPerSecond).ToArray());
        }
        finally
        {
            runner.Dispose();
            steering?.Dispose();
            model?.Dispose();
        }
    }

    /// <summary>steering_add on <paramref name="neurons"/> random neurons, every layer eligible: the per-step cost is the same as a real pattern's.</summary>
    static SteeringTensors RandomSteering(AdaRas.Engine.LanguageModel model, int neurons)
    {
        var steering = SteeringTensors.Create(model.Manifest);
        var random = new Random(42);
        for (int k = 0; k < neurons; k++)
            steering.Shift(random.Next(model.Manifest.NumLayers))[random.Next(model.Manifest.IntermediateSize)] = (float)(random.NextDouble() - 0.5);
        return steering;
    }

    /// <summary>
    /// The same random neurons and shifts as <see cref="RandomSteering"/>, as llama.cpp control-vector directions
    /// (shift_j * W_down[:, j] summed per layer; layer-0 neurons dropped, llama.cpp cannot steer layer 0).
    /// </summary>
    static IReadOnlyList<float[]> RandomControlVector(AdaRas.Model.Checkpoint checkpoint, int neurons)
    {
        var c = checkpoint.Config;
        var directions = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new float[c.HiddenSize]).ToArray();
        var random = new Random(42);
        for (int k = 0; k < neurons; k++)
        {
            int layer = random.Next(c.NumHiddenLayers), index = random.Next(c.IntermediateSize);
            float shift = (float)(random.NextDouble() - 0.5);
            if (layer == 0) continue;
            var w = checkpoint.ReadFloat32(AdaRas.Model.Qwen3Weights.Layer(layer, AdaRas.Model.Qwen3Weights.DownProj));
            for (int h = 0; h < c.HiddenSize; h++) directions[layer][h] += shift * w[(long)h * c.IntermediateSize + index];
        }
        return directions;
    }

    /// <summary>Runs a configuration in a child process started by <paramref name="startWorker"/>, which must print
    /// <see cref="ToJson(BenchResult)"/> of its result as its last stdout line. Cancellation kills the worker (and anything it
    /// started) at once.</summary>
    public static BenchResult RunInWorker(BenchConfig config, Func<BenchConfig, ProcessStartInfo> startWorker, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        var start = startWorker(config);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the benchmark worker");
        using (cancellation.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
        {
            var stderrText = process.StandardError.ReadToEndAsync();
            var stdoutText = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            cancellation.ThrowIfCancellationRequested();
            return Parse(config, process.ExitCode, stdoutText, stderrText.Result);
        }
    }

    static BenchResult Parse(BenchConfig config, int exitCode, string stdout, string stderr)
    {
        if (exitCode != 0)
            throw new InvalidOperationException($"benchmark worker for '{config.Name}' failed ({exitCode}): {stderr.Trim()}");
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        return JsonSerializer.Deserialize<BenchResult>(last, Json) ?? throw new InvalidDataException($"worker printed no result: {last}");
    }

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    public static string ToJson(BenchResult result) => JsonSerializer.Serialize(result, Json);
    public static string ToJson(BenchConfig config) => JsonSerializer.Serialize(config, Json);
    public static BenchConfig ConfigFromJson(string json) => JsonSerializer.Deserialize<BenchConfig>(json, Json)
        ?? throw new InvalidDataException("empty benchmark configuration");


    /// <summary>Peak resident set size of this process (Linux VmHWM); 0 where /proc is unavailable.</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:"))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
