using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Workflows;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// Answers benchmark questions with the engine, as an experiment config says: the user message rendered with
/// Qwen3's chat template (thinking on), decoded with the config's generation settings, steered when the
/// intervention is enabled, and, with a gate, steered only for questions the gate predicts will go wrong.
/// </summary>
/// <remarks>
/// The model is the caller's and is used for everything (the gate's question pass too), so a run loads it once.
/// Whether a sample is steered is the <see cref="SteeringPolicy"/>'s decision: the source's own, built from the
/// config, or a caller's shared across runs (a sweep retargets one policy from point to point).
/// Each sample samples with seed <c>generation.seed + index</c>, so a resumed or sharded run draws what an
/// uninterrupted one would. <see cref="SampleAnswer.Seconds"/> is the whole cost of the sample: gate pass,
/// prefill and decode.
/// </remarks>
internal sealed class EngineAnswerSource : IBatchAnswerSource, IDisposable
{
    readonly GenerationSettings _generation;
    readonly SteeringPolicy _policy;
    readonly bool _ownsPolicy;
    readonly string _modelId;

    /// <param name="device">Kernel device for the steering buffers (kept by the caller); null: the steerer makes one.</param>
    public EngineAnswerSource(AdaRas.Engine.LanguageModel model, ExperimentConfig config, KernelDevice? device = null)
        : this(config, CreatePolicy(model, config, device), ownsPolicy: true) { }

    /// <summary>Answers with <paramref name="policy"/>, which stays the caller's (set up for this config's steering).</summary>
    public EngineAnswerSource(ExperimentConfig config, SteeringPolicy policy) : this(config, policy, ownsPolicy: false) { }

    EngineAnswerSource(ExperimentConfig config, SteeringPolicy policy, bool ownsPolicy)
    {
        _generation = config.Generation;
        _policy = policy;
        _ownsPolicy = ownsPolicy;
        _modelId = policy.Model.Manifest.ModelId;
        try { ParametersFor(new BenchmarkSample(0, "", "", null, null)); }   // the config's decoding settings, checked up front
        catch (AdaRas.Files.UsageException e) { throw new AdaRas.Files.InputException(ConfigSteering.Where(config), null, $"generation settings: {e.Message}", e); }
    }

    /// <summary>The policy a config asks for, on <paramref name="model"/>.</summary>
    public static SteeringPolicy CreatePolicy(AdaRas.Engine.LanguageModel model, ExperimentConfig config, KernelDevice? device = null)
    {
        if (config.Intervention.Enabled && !model.Manifest.Steerable)
            throw new AdaRas.Files.InputException(model.Folder, null, $"exported without steering inputs, but config '{config.Name}' steers; export it again (steerable is the default)");
        return SteeringPolicy.Create(model, ConfigSteering.Settings(config), device);
    }

    /// <inheritdoc/>
    public string ModelId => _modelId;

    /// <summary>What is steered (null without an intervention).</summary>
    public SteeringOptions? Steering => _policy.Options;

    /// <summary>The gate's threshold in use (the file's, or the config's override); null without a gate.</summary>
    public double? GateThreshold => _policy.GateThreshold;

    public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken) =>
        AnswerAll([(sample, userMessage)], 1, cancellationToken).Single().Answer;

    /// <summary>
    /// Answers <paramref name="work"/> <paramref name="batchSize"/> at a time (continuous batching); a question's
    /// gate pass runs when it gets its row, and its steering is bound to that row only.
    /// </summary>
    public IEnumerable<(BenchmarkSample Sample, SampleAnswer Answer)> AnswerAll(IReadOnlyList<(BenchmarkSample Sample, string UserMessage)> work,
        int batchSize, CancellationToken cancellationToken)
    {
        if (_policy.Mode == SteeringMode.PerToken)
        {
            // The per-token probe switches steering inside one generation: one question at a time.
            foreach (var (sample, message) in work)
            {
                SampleAnswer answer;
                try { answer = AnswerOne(sample, message, cancellationToken); }
                catch (ContextLengthException e) { answer = new SampleAnswer("", 0, 0) { NotRun = e.Problem }; }
                yield return (sample, answer);
            }
            yield break;
        }
        var clocks = new Stopwatch[work.Count];
        var decisions = new (double? Score, bool? Steer)[work.Count];
        var jobs = new GenerationJob[work.Count];
        for (int i = 0; i < work.Count; i++)
        {
            int index = i;
            jobs[i] = new GenerationJob(new ChatRequest(work[i].UserMessage) { EnableThinking = true }, ParametersFor(work[i].Sample))
            {
                Configure = row =>
                {
                    clocks[index] = Stopwatch.StartNew();
                    decisions[index] = _policy.Decide(work[index].Sample.Question);
                    if (decisions[index].Steer == true) row.Steering = _policy.Steerer!.Tensors;
                },
            };
        }
        foreach (var (i, result) in BatchedGeneration.Run(_policy.Model, jobs, batchSize, cancellationToken))
            yield return (work[i].Sample, result.Failure is { } reason
                ? new SampleAnswer("", 0, 0) { NotRun = reason }
                : new SampleAnswer(result.Text, result.TokenIds.Length, clocks[i].Elapsed.TotalSeconds, decisions[i].Score, decisions[i].Steer));
    }

    SampleAnswer AnswerOne(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        // The gate reads the raw question (no template), as the paper's predictor does.
        var answer = _policy.Generate(new ChatRequest(userMessage) { EnableThinking = true }, ParametersFor(sample),
            question: sample.Question, cancellation: cancellationToken);
        var result = answer.Generation;
        return new SampleAnswer(result.Text, result.TokenIds.Length, clock.Elapsed.TotalSeconds, answer.Decision?.Score, answer.Steered);
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

    public void Dispose()
    {
        if (_ownsPolicy) _policy.Dispose();
    }
}
