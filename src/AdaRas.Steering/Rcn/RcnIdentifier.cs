using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;

namespace AdaRas.Steering.Rcn;

/// <summary>How <see cref="RcnIdentifier.Identify"/> runs.</summary>
internal sealed record IdentifyOptions
{
    /// <summary>Neurons written to the pattern (the paper keeps 200 and steers the first K = 50).</summary>
    public int Top { get; init; } = 200;
    /// <summary>Replace an existing pattern (otherwise an existing pattern is an error, raised before any work).</summary>
    public bool Overwrite { get; init; }
    /// <summary>Where finished trajectories are kept; null: <c>&lt;pattern&gt;.cache</c> beside the pattern.</summary>
    public string? CacheFolder { get; init; }
    public RankingAlgorithm Ranking { get; init; } = RankingAlgorithm.Auto;
    /// <summary>A human name for the model, recorded in the sidecar (default: the model folder's name).</summary>
    public string? ModelName { get; init; }
    /// <summary>
    /// Average only each trajectory's first N tokens (null: all of them). The paper's activations come from
    /// TransformerLens, which caps Qwen3 at n_ctx = 2048 and silently truncates longer inputs, so 2048 reproduces
    /// the paper's means; <see cref="IdentifyResult.Truncated"/> says how many trajectories were cut.
    /// </summary>
    public int? MaxTokens { get; init; }
}

/// <summary>Where an identification run stands; reported after every chunk and every trajectory.</summary>
/// <param name="Done">Trajectories finished (computed or taken from the cache).</param>
/// <param name="FromCache">Of those, how many came from the cache.</param>
/// <param name="TokensComputed">Tokens teacher-forced in this run so far.</param>
/// <param name="TokensToCompute">Tokens this run has to teacher-force in all (trajectories not cached).</param>
/// <param name="TokensPerSecond">Teacher-forcing throughput of this run (0 before the first chunk).</param>
/// <param name="Eta">Time left at that throughput (null until it is known).</param>
internal sealed record IdentifyProgress(int Done, int Total, int FromCache, long TokensComputed, long TokensToCompute,
    double TokensPerSecond, TimeSpan? Eta)
{
    public override string ToString() =>
        $"{Done}/{Total} trajectories ({FromCache} cached), {TokensComputed}/{TokensToCompute} tokens, {TokensPerSecond:F1} tok/s" +
        (Eta is { } eta ? $", ETA {(int)eta.TotalHours:D2}:{eta.Minutes:D2}:{eta.Seconds:D2}" : "");
}

/// <summary>What an identification run did and wrote.</summary>
/// <param name="ComputeTime">Time spent teacher-forcing (the rest is tokenizing, cache reads, ranking, writing).</param>
/// <param name="Truncated">Trajectories longer than <see cref="IdentifyOptions.MaxTokens"/>, cut to it.</param>
/// <param name="TokensDropped">Tokens left out by those cuts.</param>
/// <param name="TokensTotal">Tokens of all trajectories before any cut.</param>
internal sealed record IdentifyResult(string PatternPath, IReadOnlyList<RankedNeuron> Ranked, PatternSidecar Sidecar,
    int Computed, int FromCache, long TokensComputed, TimeSpan ComputeTime, TimeSpan Elapsed,
    int Truncated = 0, long TokensDropped = 0, long TokensTotal = 0)
{
    public double TokensPerSecond => ComputeTime.TotalSeconds > 0 ? TokensComputed / ComputeTime.TotalSeconds : 0;
}

/// <summary>
/// Identifies reasoning-critical neurons (docs/ARCHITECTURE.md, method steps 1-3) with the ONNX engine: each trajectory of a
/// contrastive set is teacher-forced through the model chunk by chunk through the KV cache, without logits,
/// reading the graph's sum-over-positions tap; its token-mean goes into <see cref="NeuronStatistics"/>, whose
/// ranking becomes the pattern file.
/// </summary>
internal sealed class RcnIdentifier
{
    readonly AdaRas.Engine.LanguageModel _model;

    /// <summary>Tokens per forward call; memory for activations is proportional to this, not to the trajectory.</summary>
    public int ChunkSize { get; }
    public ModelShape Shape { get; }

    public RcnIdentifier(AdaRas.Engine.LanguageModel model, int chunkSize = 512)
    {
        if (!model.Manifest.Steerable)
            throw new AdaRas.Files.InputException($"{model.Folder}: the model was exported without taps (plain export); export it steerable to identify neurons");
        if (chunkSize < 1) throw new AdaRas.Files.UsageException($"--chunk must be positive, got {chunkSize}");
        _model = model;
        ChunkSize = chunkSize;
        Shape = ModelShape.FromManifest(model.Manifest);
    }

    /// <summary>
    /// Teacher-forces <paramref name="ids"/> and returns the MLP activations summed over every position.
    /// Chunks of <see cref="ChunkSize"/> tokens go through the KV cache one forward call at a time; the per-call
    /// sums are added in double, so the result does not depend on the chunking beyond float rounding of each call.
    /// </summary>
    /// <param name="onChunk">Called after each chunk with the number of tokens it held.</param>
    public TrajectoryActivations Run(ReadOnlySpan<int> ids, CancellationToken cancellation = default, Action<int>? onChunk = null)
    {
        if (ids.Length == 0) throw new ArgumentException("a trajectory needs at least one token");
        // The cache must hold the whole trajectory, since every later chunk attends to all earlier tokens.
        using var generator = new Generator(_model, new GeneratorParams { MaxNewTokens = 0, MaxLength = ids.Length }) { ChunkSize = ChunkSize };
        var sum = new double[Shape.NeuronCount];
        for (int start = 0; start < ids.Length; start += ChunkSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var chunk = ids.Slice(start, Math.Min(ChunkSize, ids.Length - start));
            generator.AppendTokens(chunk, LogitsScope.None);
            if (generator.MlpSumCount != chunk.Length)
                throw new InvalidOperationException($"the sum tap covered {generator.MlpSumCount} positions, expected {chunk.Length}");
            var tap = generator.MlpSum;
            for (int i = 0; i < sum.Length; i++) sum[i] += tap[i];
            onChunk?.Invoke(chunk.Length);
        }
        var result = new float[sum.Length];
        for (int i = 0; i < sum.Length; i++) result[i] = (float)sum[i];
        return new TrajectoryActivations(result, ids.Length);
    }

    /// <summary>Tokenizes <paramref name="text"/> with the model's tokenizer (no special handling, no template) and runs it.</summary>
    public TrajectoryActivations Run(string text, CancellationToken cancellation = default) =>
        Run(_model.Tokenizer.Encode(text), cancellation);

    /// <summary>
    /// Runs every trajectory of <paramref name="set"/> (or takes it from the cache), ranks all neurons and writes
    /// the top <see cref="IdentifyOptions.Top"/> as a pattern CSV with its sidecar (atomically). Trajectories are
    /// added in file order whether computed or cached, so a resumed run writes the same pattern as an
    /// uninterrupted one. Cancelling keeps every finished trajectory in the cache.
    /// </summary>
    /// <exception cref="NonFiniteActivationException">A trajectory's activations hold NaN or infinity (names it); nothing is written.</exception>
// Slightly long on purpose: the resumable loop (cache, progress, statistics on the device) shares its counters
// with the progress report and the sidecar written at the end.
    public IdentifyResult Identify(ContrastiveSet set, string patternPath, IdentifyOptions? options = null, KernelDevice? device = null,
        IProgress<IdentifyProgress>? progress = null, CancellationToken cancellation = default)
    {
        options ??= new IdentifyOptions();
        if (options.MaxTokens is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokens, "max tokens must be at least 1");
        if (options.Top < 1 || options.Top > Shape.NeuronCount)
            throw new AdaRas.Files.UsageException($"--top {options.Top} must be between 1 and the model's {Shape.NeuronCount} neurons");
        set.RequireBothClasses();
        if (!options.Overwrite)
            foreach (var p in new[] { patternPath, PatternSidecar.PathFor(patternPath) })
                if (File.Exists(p)) throw new IOException($"{p}: already exists (use --force / Overwrite to replace it)");

        var cache = new TrajectoryCache(options.CacheFolder ?? TrajectoryCache.FolderFor(patternPath), _model.Manifest);
        var plan = Plan(set, cache, options.MaxTokens);
        int truncated = plan.Count(p => p.FullLength > p.Ids.Length);
        long tokensTotal = plan.Sum(p => (long)p.FullLength);
        long tokensDropped = tokensTotal - plan.Sum(p => (long)p.Ids.Length);
        long toCompute = plan.Where(p => !p.Cached).Sum(p => (long)p.Ids.Length);
        int fromCache = 0, computed = 0, done = 0;
        long tokensComputed = 0;
        var clock = Stopwatch.StartNew();
        var computing = new Stopwatch(); // teacher-forcing only: the rate that predicts what is left

        void Report()
        {
            if (progress is null) return;
            double seconds = computing.Elapsed.TotalSeconds;
            double rate = tokensComputed > 0 && seconds > 0 ? tokensComputed / seconds : 0;
            TimeSpan? eta = rate > 0 ? TimeSpan.FromSeconds((toCompute - tokensComputed) / rate) : toCompute == tokensComputed ? TimeSpan.Zero : null;
            progress.Report(new IdentifyProgress(done, plan.Count, fromCache, tokensComputed, toCompute, rate, eta));
        }

        var owned = device is null ? KernelDevice.ForModel(_model) : null;
        try
        {
            using var stats = new NeuronStatistics(device ?? owned!, Shape.Layers, Shape.IntermediateSize);
            Report();
            foreach (var (t, ids, hash, cached, _) in plan)
            {
                cancellation.ThrowIfCancellationRequested();
                var activations = cached ? cache.TryLoad(t, hash) : null;
                bool fresh = activations is null;
                if (fresh)
                {
                    if (cached) toCompute += ids.Length; // the entry went away since planning
                    computing.Start();
                    activations = Run(ids, cancellation, n => { tokensComputed += n; Report(); });
                    computing.Stop();
                }
                // Rejects NaN/inf, naming the trajectory, before anything is added (or cached).
                stats.AddTrajectorySum($"id={t.Id} _id={t.SampleId} ({set.Path}:{t.Line})", t.IsGood, activations!.Sum, activations.Tokens);
                if (fresh) { cache.Save(t, hash, activations); computed++; }
                else fromCache++;
                done++;
                Report();
            }

            var ranked = stats.Rank(options.Top, options.Ranking);
            var sidecar = PatternSidecar.Create(Shape, stats.Counts, options.Top, set.Name, Path.GetFullPath(set.Path),
                options.ModelName ?? Path.GetFileName(_model.Folder.TrimEnd(Path.DirectorySeparatorChar)));
            RcnPattern.Write(patternPath, ranked, sidecar, options.Overwrite);
            return new IdentifyResult(patternPath, ranked, sidecar, computed, fromCache, tokensComputed, computing.Elapsed, clock.Elapsed,
                truncated, tokensDropped, tokensTotal);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    /// <param name="FullLength">Tokens before the <see cref="IdentifyOptions.MaxTokens"/> cut.</param>
    sealed record Planned(Trajectory Trajectory, int[] Ids, string Hash, bool Cached, int FullLength);

    /// <summary>
    /// Tokenizes everything up front: a too-long trajectory fails before hours of work, and the ETA knows the total.
    /// A cut trajectory's cache key is that of its kept tokens, so runs with different caps never share entries.
    /// </summary>
    List<Planned> Plan(ContrastiveSet set, TrajectoryCache cache, int? maxTokens)
    {
        var plan = new List<Planned>(set.Trajectories.Count);
        int context = _model.Manifest.ContextLength;
        foreach (var t in set.Trajectories)
        {
            var ids = _model.Tokenizer.Encode(t.Text);
            int fullLength = ids.Length;
            if (maxTokens is { } cap && ids.Length > cap) ids = ids[..cap];
            if (ids.Length > context)
                throw new JsonLinesException(set.Path, t.Line,
                    $"trajectory id={t.Id} _id={t.SampleId} is {ids.Length} tokens, longer than the model's context of {context}");
            var hash = TrajectoryCache.InputHash(ids);
            plan.Add(new Planned(t, ids, hash, cache.Contains(t, hash), fullLength));
        }
        return plan;
    }
}
