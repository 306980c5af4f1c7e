using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Workflows;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// Answers benchmark questions with the engine, as an experiment config says: the user message rendered with
/// Qwen3's chat template (thinking on), decoded with the config's generation settings, steered when the
/// intervention is enabled, and, with a gate, steered only for questions the gate predicts will go wrong.
/// </summary>
/// <remarks>
/// The model is the caller's and is used for everything (the gate's question pass too), so a run loads it once.
/// The steering buffers are made once per source and bound only to the generators of steered samples.
/// Each sample samples with seed <c>generation.seed + index</c>, so a resumed or sharded run draws what an
/// uninterrupted one would. <see cref="SampleAnswer.Seconds"/> is the whole cost of the sample: gate pass,
/// prefill and decode.
/// </remarks>
public sealed class EngineAnswerSource : IAnswerSource, IDisposable
{
    readonly AdaRas.Engine.LanguageModel _model;
    readonly GenerationSettings _generation;
    readonly Steerer? _steerer;
    readonly AdaptiveSteering? _gate;

    /// <param name="device">Kernel device for the steering buffers (kept by the caller, e.g. shared by a sweep); null: the steerer makes a CPU one.</param>
    public EngineAnswerSource(AdaRas.Engine.LanguageModel model, ExperimentConfig config, KernelDevice? device = null)
    {
        _model = model;
        _generation = config.Generation;
        if (!config.Intervention.Enabled) return;
        if (!model.Manifest.Steerable)
            throw new InvalidOperationException($"{model.Folder}: exported without steering inputs, but config '{config.Name}' steers; export it again (steerable is the default)");
        var i = config.Intervention;
        _steerer = Steerer.Create(model, new SteeringOptions(ResolvePattern(config))
        {
            Neurons = i.NumNeurons,
            Alpha = (float)i.Strength,
            Method = i.Method,
            Positions = i.Positions,
        }, device);
        try
        {
            if (config.Gate is { } gate)
            {
                var file = config.TryResolvePath(gate.File)
                    ?? throw new FileNotFoundException($"{Where(config)}: gate file '{gate.File}' not found (looked in {Environment.CurrentDirectory}{Beside(config)})");
                _gate = AdaptiveSteering.Create(model, _steerer, file, gate.Threshold);
            }
        }
        catch
        {
            _steerer.Dispose();
            throw;
        }
    }

    /// <summary>What is steered (null without an intervention).</summary>
    public SteeringOptions? Steering => _steerer?.Options;

    /// <summary>The gate's threshold in use (the file's, or the config's override); null without a gate.</summary>
    public double? GateThreshold => _gate?.Threshold;

    public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        double? score = null;
        bool? steer = null;
        if (_steerer is not null)
        {
            if (_gate is not null)
            {
                // The gate reads the raw question (no template), as the paper's predictor does.
                var decision = _gate.Decide(sample.Question);
                score = decision.Score;
                steer = decision.Steer;
            }
            else steer = true;
        }
        var result = TextGeneration.Generate(_model, new ChatRequest(userMessage) { EnableThinking = true }, ParametersFor(sample),
            configure: generator => { if (steer == true) generator.Steering = _steerer!.Tensors; },
            cancellation: cancellationToken);
        return new SampleAnswer(result.Text, result.TokenIds.Length, clock.Elapsed.TotalSeconds, score, steer);
    }

    GeneratorParams ParametersFor(BenchmarkSample sample)
    {
        var g = _generation;
        var parameters = new GeneratorParams
        {
            MaxNewTokens = g.MaxNewTokens,
            DoSample = g.DoSample,
            Temperature = g.DoSample ? g.Temperature : 0,
            TopP = g.DoSample ? g.TopP : 1.0,
            TopK = g.DoSample ? g.TopK : 0,
            Seed = unchecked(g.Seed + sample.Index),
        };
        parameters.Validate();
        return parameters;
    }

    /// <summary>pattern_path: a CSV (from here or beside the config), else the file name of a released pattern.</summary>
    internal static string ResolvePattern(ExperimentConfig config)
    {
        var text = config.Intervention.PatternPath!;
        if (config.TryResolvePath(text) is { } found && File.Exists(found)) return found;
        if (text.IndexOfAny(['/', '\\']) < 0)
        {
            try { return PaperPatterns.Find(text).Path; }
            catch (ArgumentException) { /* not a released name either: reported below */ }
        }
        throw new FileNotFoundException(
            $"{Where(config)}: pattern_path '{text}' is not a file (looked in {Environment.CurrentDirectory}{Beside(config)}) " +
            $"nor a released pattern ({string.Join(", ", PaperPatterns.All.Select(e => e.FileName))})");
    }

    static string Where(ExperimentConfig config) => config.SourceFile ?? $"config '{config.Name}'";

    static string Beside(ExperimentConfig config) =>
        config.SourceFile is null ? "" : $" and in {Path.GetDirectoryName(config.SourceFile)}";

    public void Dispose() => _steerer?.Dispose();
}
