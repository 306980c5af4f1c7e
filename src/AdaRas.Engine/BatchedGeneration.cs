using System.Diagnostics;

namespace AdaRas.Engine;

/// <summary>One chat generation to run in a batch.</summary>
public sealed record GenerationJob(ChatRequest Request, GeneratorParams Parameters)
{
    /// <summary>Called when the job gets its row, before its prompt runs (bind steering here, e.g. after a gate decision).</summary>
    public Action<GenerationStep>? Configure { get; init; }
    /// <summary>Called after each generated token, before the next forward pass (e.g. to switch steering mid-generation).</summary>
    public Action<GenerationStep>? OnStep { get; init; }
}

/// <summary>
/// Continuous batching: runs chat generations <c>batchSize</c> at a time through one
/// <see cref="BatchGenerator"/>, refilling a row from the queue as soon as its sequence finishes, and yields each
/// result as it finishes. Every job keeps its own sampler, seed, limits and steering, so its tokens are those of a
/// single <see cref="TextGeneration.Generate"/> call. A job whose prompt cannot fit (longer than the model's context or
/// its own max length) comes back at once as a failed result (<see cref="GenerationResult.Failure"/>) and the others run:
/// one over-long input in an eval is that sample's failure, not the batch's.
/// </summary>
public static class BatchedGeneration
{
    /// <returns>(index into <paramref name="jobs"/>, result), in the order the jobs finish.</returns>
    public static IEnumerable<(int Index, GenerationResult Result)> Run(LanguageModel model, IReadOnlyList<GenerationJob> jobs, int batchSize,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(jobs);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be at least 1, got {batchSize}");
        if (jobs.Count == 0) yield break;
        var (prompts, failures, capacity) = Plan(model, jobs);
        var tokenizer = model.Tokenizer;
        for (int j = 0; j < jobs.Count; j++)
            if (failures[j] is { } reason) yield return (j, GenerationResult.Failed(prompts[j].Length, reason));
        if (failures.All(f => f is not null)) yield break;
        using var batch = NewBatch(model, jobs, batchSize, capacity);

        var jobOf = new int[batch.Rows];
        var prefillSeconds = new double[batch.Rows];
        var clocks = new Stopwatch[batch.Rows];
        Array.Fill(jobOf, -1);
        int next = 0;
        while (true)
        {
            // Refill every free row before the next step, so the step carries as many rows as there is work.
            for (int row = 0; row < batch.Rows; row++)
            {
                while (jobOf[row] < 0 && next < jobs.Count)
                {
                    cancellation.ThrowIfCancellationRequested();
                    int j = next++;
                    if (failures[j] is not null) continue;
                    var clock = Stopwatch.StartNew();
                    batch.Start(row, jobs[j].Parameters);
                    jobs[j].Configure?.Invoke(batch[row].Step);
                    batch.AppendTokens(row, prompts[j]);
                    prefillSeconds[row] = clock.Elapsed.TotalSeconds;
                    clock.Restart();
                    clocks[row] = clock;
                    jobOf[row] = j;
                    if (batch[row].IsDone) yield return Finish(row); // nothing to generate (MaxNewTokens 0)
                }
            }
            if (!batch.AnyGenerating) yield break;
            cancellation.ThrowIfCancellationRequested();
            batch.Step();
            for (int row = 0; row < batch.Rows; row++)
            {
                if (jobOf[row] < 0) continue;
                var r = batch[row];
                jobs[jobOf[row]].OnStep?.Invoke(r.Step);
                if (r.IsDone) yield return Finish(row);
            }
        }

        (int, GenerationResult) Finish(int row)
        {
            var r = batch[row];
            int j = jobOf[row];
            jobOf[row] = -1;
            return (j, TextGeneration.Result(tokenizer, r.Sequence, r.PromptLength, r.StoppedOnStopToken, prefillSeconds[row], clocks[row].Elapsed.TotalSeconds));
        }
    }

    /// <summary>The batch the jobs run through; only a job's OnStep could read taps, so without one they are skipped.</summary>
    static BatchGenerator NewBatch(LanguageModel model, IReadOnlyList<GenerationJob> jobs, int batchSize, int capacity) =>
        new(model, RowsThatFit(model, Math.Min(batchSize, jobs.Count), capacity), capacity) { ActivationTaps = jobs.Any(j => j.OnStep is not null) };

    /// <summary>Checks the jobs' parameters, tokenizes every prompt and marks the jobs that cannot fit (with the reason).</summary>
    static (int[][] Prompts, string?[] Failures, int Capacity) Plan(LanguageModel model, IReadOnlyList<GenerationJob> jobs)
    {
        foreach (var job in jobs) job.Parameters.Validate();
        var prompts = jobs.Select(j => model.Tokenizer.Encode(j.Request.Render())).ToArray();
        var failures = new string?[jobs.Count];
        return (prompts, failures, CapacityFor(model, jobs, prompts, failures));
    }

    /// <summary>
    /// Fewer rows when their KV cache (rows x capacity) would take more than half the memory the process may use:
    /// long generations (the paper's 32k tokens) at batch 8 would not fit a 0.6B model's cache in a laptop.
    /// </summary>
    public static int RowsThatFit(LanguageModel model, int rows, int capacity, long? availableBytes = null)
    {
        var m = model.Manifest;
        long perToken = 2L * m.NumLayers * m.NumKeyValueHeads * m.HeadDim * (m.HalfKvCache ? 2 : 4);
        long budget = (availableBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) / 2;
        long fit = budget / Math.Max(1, perToken * capacity);
        return (int)Math.Clamp(fit, 1, rows);
    }

    /// <summary>
    /// One capacity for every row: the longest prompt plus its new tokens, within the model's context. A prompt that
    /// cannot fit gets its reason in <paramref name="failures"/> and is left out.
    /// </summary>
    static int CapacityFor(LanguageModel model, IReadOnlyList<GenerationJob> jobs, int[][] prompts, string?[] failures)
    {
        int context = model.Manifest.ContextLength, capacity = 1;
        for (int j = 0; j < jobs.Count; j++)
        {
            if (prompts[j].Length == 0) throw new ArgumentException($"job {j}: the prompt is empty");
            long wanted = jobs[j].Parameters.MaxLength ?? (long)prompts[j].Length + jobs[j].Parameters.MaxNewTokens;
            if (prompts[j].Length > context)
                failures[j] = $"input of {prompts[j].Length} tokens is longer than the model's context of {context} tokens";
            else if (prompts[j].Length > wanted)
                failures[j] = $"input of {prompts[j].Length} tokens exceeds its max length of {wanted} tokens";
            else
                capacity = (int)Math.Max(capacity, Math.Min(wanted, context));
        }
        return capacity;
    }
}
