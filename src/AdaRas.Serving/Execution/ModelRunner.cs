using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Serving.Steering;

namespace AdaRas.Serving.Execution;

/// <summary>
/// The one place the server runs the model: every generation of the HTTP server and of the in-process
/// <see cref="ChatClient.AdaRasChatClient"/> goes through <see cref="RunAsync"/>. Concurrent requests share the one
/// loaded model through a FIFO queue (one generation at a time; never a second copy of the model). Batched decoding
/// replaces <see cref="Execute"/>'s single-row loop here and nowhere else.
/// </summary>
sealed class ModelRunner
{
    readonly AdaRas.Engine.LanguageModel _model;
    readonly SteeringCatalog _steering;
    readonly int _maxInFlight;
    readonly SemaphoreSlim _turn = new(1, 1);
    int _inFlight, _liveGenerators;
    long _completed, _cancelled, _failed;

    public ModelRunner(AdaRas.Engine.LanguageModel model, SteeringCatalog steering, int maxInFlight)
    {
        if (maxInFlight < 1) throw new ArgumentException($"the concurrent request limit must be at least 1, got {maxInFlight}");
        _model = model; _steering = steering; _maxInFlight = maxInFlight;
    }

    /// <summary>Requests admitted and not finished (running or waiting their turn).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);
    /// <summary>Generators alive now: 0 when idle (a leak shows here).</summary>
    public int LiveGenerators => Volatile.Read(ref _liveGenerators);
    public long Completed => Interlocked.Read(ref _completed);
    public long Cancelled => Interlocked.Read(ref _cancelled);
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Called on the generation thread after each token with the count so far (tests pace and watch generation with it).</summary>
    internal Action<int>? AfterToken { get; set; }

    /// <summary>
    /// Waits its turn, then generates, calling <paramref name="onStart"/> once steering is decided and
    /// <paramref name="onToken"/> for each token (on the generation thread: keep them quick). Cancelling stops
    /// the wait or the generation between two tokens. Over the concurrency limit it refuses at once (429).
    /// </summary>
    public async Task<GenerationOutcome> RunAsync(ServingJob job, Action<SteeringOutcome?>? onStart,
        Action<TokenOutput>? onToken, CancellationToken cancellation)
    {
        if (Interlocked.Increment(ref _inFlight) > _maxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new RequestException(429, $"the server is busy: {_maxInFlight} requests are already running or queued; retry later",
                "rate_limit_error", code: "too_many_requests");
        }
        bool haveTurn = false;
        try
        {
            await _turn.WaitAsync(cancellation).ConfigureAwait(false);
            haveTurn = true;
            // A pool thread, not a thread of its own: one generation runs at a time, and starting a thread per request
            // costs more than the rest of the server's work for a short request.
            var outcome = await Task.Run(() => Execute(job, onStart, onToken, cancellation), cancellation).ConfigureAwait(false);
            Interlocked.Increment(ref _completed);
            return outcome;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelled);
            throw;
        }
        catch (Exception e) when (e is not RequestException)
        {
            Interlocked.Increment(ref _failed);
            throw;
        }
        finally
        {
            if (haveTurn) _turn.Release();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    GenerationOutcome Execute(ServingJob job, Action<SteeringOutcome?>? onStart, Action<TokenOutput>? onToken, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var prepared = job.Steering is null ? null : _steering.Prepare(job.Steering, job.GateQuestion);
        onStart?.Invoke(prepared?.Outcome);

        var parameters = job.PromptLogprobs ? job.Parameters with { MaxLength = job.Prompt.Length + job.Parameters.MaxNewTokens } : job.Parameters;
        Interlocked.Increment(ref _liveGenerators);
        try
        {
            using var generator = new Generator(_model, parameters);
            if (prepared?.Tensors is { } tensors) generator.Steering = tensors;
            var clock = Stopwatch.StartNew();
            var promptLogprobs = job.PromptLogprobs ? AppendScoringPrompt(generator, job, cancellation) : null;
            if (!job.PromptLogprobs) generator.AppendTokens(job.Prompt);
            double prefill = clock.Elapsed.TotalSeconds;
            clock.Restart();

            var text = new OutputText(_model.Tokenizer, job.SplitThinking, job.Stop);
            float[]? logits = job.Logprobs is null ? null : new float[_model.Manifest.VocabSize];
            while (!generator.IsDone && !text.HitStop)
            {
                cancellation.ThrowIfCancellationRequested();
                if (logits is not null) generator.Logits.CopyTo(logits);
                generator.GenerateNextToken();
                if (generator.StoppedOnStopToken) break;
                int id = generator.LastToken;
                var delta = text.Add(id);
                var logprob = logits is null ? null : Logprobs.Of(_model.Tokenizer, logits, id, job.Logprobs!.Value);
                onToken?.Invoke(new TokenOutput(id, delta, logprob));
                AfterToken?.Invoke(generator.GeneratedCount);
            }
            var tail = text.Flush();
            string finish = generator.StoppedOnStopToken || text.HitStop ? "stop" : "length";
            return new GenerationOutcome(finish, job.Prompt.Length, generator.GeneratedCount, promptLogprobs, prepared?.Outcome, tail,
                prefill, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            Interlocked.Decrement(ref _liveGenerators);
        }
    }

    /// <summary>
    /// Runs the prompt with logits at every position, in the generator's own chunks (so steering lands on the
    /// same positions as a plain prompt), and scores each token against its prefix; the first has none (null).
    /// </summary>
    TokenLogprob?[] AppendScoringPrompt(Generator generator, ServingJob job, CancellationToken cancellation)
    {
        var prompt = job.Prompt;
        int vocab = _model.Manifest.VocabSize, top = job.Logprobs ?? 0;
        var result = new TokenLogprob?[prompt.Length];
        float[]? carried = null; // a chunk's last row scores the next chunk's first token
        for (int start = 0; start < prompt.Length; start += generator.ChunkSize)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(generator.ChunkSize, prompt.Length - start);
            generator.AppendTokens(prompt.AsSpan(start, n), LogitsScope.All);
            var all = generator.AllLogits;
            if (carried is not null) result[start] = Logprobs.Of(_model.Tokenizer, carried, prompt[start], top);
            for (int i = 0; i + 1 < n; i++)
                result[start + i + 1] = Logprobs.Of(_model.Tokenizer, all.Slice(i * vocab, vocab), prompt[start + i + 1], top);
            carried = all.Slice((n - 1) * vocab, vocab).ToArray();
        }
        return result;
    }
}
