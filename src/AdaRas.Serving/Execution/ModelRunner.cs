using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Serving.Steering;

namespace AdaRas.Serving.Execution;

/// <summary>
/// The one place the server runs the model: every generation of the HTTP server and of the in-process
/// <see cref="ChatClient.AdaRasChatClient"/> goes through <see cref="RunAsync"/>. Concurrent requests decode together
/// in one <see cref="BatchGenerator"/> (continuous batching, up to <see cref="MaxBatch"/> rows; never a second copy of
/// the model): a request gets a row as soon as one is free, with its own sampling parameters, stop strings and
/// steering (identity for rows without, or that the gate leaves alone), streams its tokens as each step makes them,
/// and gives its row back the step it finishes or its client cancels, while the others go on.
/// </summary>
/// <remarks>
/// One thread at a time runs admission, steps and per-row callbacks (it holds <c>_owner</c>): the generation thread,
/// or a non-streamed request's own thread while that request runs (see <see cref="RunAsync"/>'s runHere), so the
/// steering catalog and the session are only touched by one thread at a time. A row's tokens are the ones a single-sequence generator gives the same
/// request (the batch's contract), so an answer does not depend on what it was batched with.
/// </remarks>
sealed class ModelRunner : IDisposable
{
    /// <summary>Tokens each row holds at least, so short requests do not rebuild the cache one after another.</summary>
    const int MinCapacity = 1024;

    readonly AdaRas.Engine.LanguageModel _model;
    readonly SteeringCatalog _steering;
    readonly int _maxInFlight;
    readonly LinkedList<Work> _queue = new();              // guarded by itself
    readonly SemaphoreSlim _wake = new(0);
    readonly CancellationTokenSource _stopping = new();
    readonly Thread _thread;
    readonly object _owner = new();                         // held while a thread admits and steps (see Turn)
    BatchGenerator? _batch;
    Work?[] _rows = [];
    int _inFlight, _liveRows;
    long _completed, _cancelled, _failed, _steps;

    public ModelRunner(AdaRas.Engine.LanguageModel model, SteeringCatalog steering, int maxInFlight, int maxBatch)
    {
        if (maxInFlight < 1) throw new ArgumentException($"the concurrent request limit must be at least 1, got {maxInFlight}");
        if (maxBatch < 1) throw new ArgumentException($"the batch size must be at least 1, got {maxBatch}");
        _model = model; _steering = steering; _maxInFlight = maxInFlight; MaxBatch = maxBatch;
        // A request that runs the batch on its own thread (runHere) holds a thread-pool thread for its generation;
        // keep enough pool threads ready that the server's other work (reading requests, noticing clients that went
        // away) never waits for the pool to grow.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount + 4), io);
        _thread = new Thread(Loop) { IsBackground = true, Name = "adaras-batch" };
        _thread.Start();
    }

    /// <summary>Most requests decoded together.</summary>
    public int MaxBatch { get; }
    /// <summary>Requests admitted and not finished (running or waiting for a row).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);
    /// <summary>Rows generating now: 0 when idle (a leak shows here).</summary>
    public int LiveGenerators => Volatile.Read(ref _liveRows);
    public long Completed => Interlocked.Read(ref _completed);
    public long Cancelled => Interlocked.Read(ref _cancelled);
    public long Failed => Interlocked.Read(ref _failed);
    /// <summary>Decode steps run (one forward pass each, whatever the rows in it): fewer than the tokens made when requests share steps.</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Called on the thread running the batch after each token with the row's count so far (tests pace and watch generation with it).</summary>
    internal Action<int>? AfterToken { get; set; }

    /// <summary>A request on its way through the batch.</summary>
    sealed class Work(ServingJob job, Action<SteeringOutcome?>? onStart, Action<TokenOutput>? onToken, CancellationToken cancellation)
    {
        public readonly ServingJob Job = job;
        public readonly Action<SteeringOutcome?>? OnStart = onStart;
        public readonly Action<TokenOutput>? OnToken = onToken;
        public readonly CancellationToken Cancellation = cancellation;
        public readonly TaskCompletionSource<GenerationOutcome> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public PreparedSteering? Steering;
        public OutputText? Text;
        public float[]? Logits;
        public TokenLogprob?[]? PromptLogprobs;
        public double PrefillSeconds;
        public Stopwatch? Clock;
        public bool Gone => Result.Task.IsCompleted;

        /// <summary>Tokens of cache the request needs.</summary>
        public long Needed => (long)Job.Prompt.Length + Job.Parameters.MaxNewTokens;
    }

    /// <summary>
    /// Waits for a row, then generates, calling <paramref name="onStart"/> once steering is decided and
    /// <paramref name="onToken"/> for each token (on the thread running the batch: keep them quick). Cancelling frees the
    /// row before the next step (or drops the request from the queue); the answer task ends cancelled at once.
    /// Over the concurrency limit it refuses at once (429).
    /// </summary>
    /// <param name="runHere">
    /// Let the calling thread run the batch while its request is in it, when no other thread is running it: the
    /// call then returns a finished task (the server's non-streamed requests, whose thread would only wait). Never
    /// for callers that must not block (the in-process <see cref="ChatClient.AdaRasChatClient"/>, streams).
    /// </param>
    public Task<GenerationOutcome> RunAsync(ServingJob job, Action<SteeringOutcome?>? onStart,
        Action<TokenOutput>? onToken, CancellationToken cancellation, bool runHere = false)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (Interlocked.Increment(ref _inFlight) > _maxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new RequestException(429, $"the server is busy: {_maxInFlight} requests are already running or queued; retry later",
                "rate_limit_error", code: "too_many_requests");
        }
        var work = new Work(job, onStart, onToken, cancellation);
        if (cancellation.CanBeCanceled)
        {
            var registration = cancellation.Register(() => { work.Result.TrySetCanceled(cancellation); Wake(); });
            work.Result.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        lock (_queue) _queue.AddLast(work);
        if (runHere && Monitor.TryEnter(_owner))
        {
            // This thread runs the batch (its own request and any others) until its request is done: the generation
            // thread need not wake up for it, and the answer is complete when this returns, so the caller's await goes
            // on without a hand-over either. Two thread wake-ups less per request.
            try
            {
                while (!work.Gone && !_stopping.IsCancellationRequested && Turn()) { }
            }
            finally
            {
                Monitor.Exit(_owner);
            }
            if (work.Gone && _liveRows == 0 && QueueIsEmpty) return work.Result.Task;
        }
        Wake(); // the generation thread runs it, or goes on with what this thread leaves
        return work.Result.Task;
    }

    bool QueueIsEmpty
    {
        get { lock (_queue) return _queue.Count == 0; }
    }

    void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    // ---- the generation thread ----

    void Loop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            bool running;
            lock (_owner) running = Turn();
            if (running) continue;
            try { _wake.Wait(_stopping.Token); }
            catch (OperationCanceledException) { break; }
        }
        lock (_owner)
        {
            for (int row = 0; row < _rows.Length; row++)
                if (_rows[row] is { } w) Leave(row, w, new ObjectDisposedException(nameof(ModelRunner)));
            lock (_queue)
            {
                foreach (var w in _queue) { w.Result.TrySetException(new ObjectDisposedException(nameof(ModelRunner))); Interlocked.Decrement(ref _inFlight); }
                _queue.Clear();
            }
            _batch?.Dispose();
            _batch = null;
        }
    }

    /// <summary>
    /// One turn of the batch, by whichever thread holds <see cref="_owner"/>: drops cancelled requests, admits waiting
    /// ones and makes one token for every running request. False when nothing is running.
    /// </summary>
    bool Turn()
    {
        try
        {
            DropCancelledFromQueue();
            Admit();
            if (_liveRows == 0) return false;
            Step();
            return true;
        }
        catch (Exception e)
        {
            // A failure of the whole batch (the forward pass): every running request gets it, the session is rebuilt.
            Console.Error.WriteLine($"[serve] batch step failed: {e}");
            for (int row = 0; row < _rows.Length; row++)
                if (_rows[row] is { } w) Leave(row, w, e);
            _batch?.Dispose();
            _batch = null;
            return false;
        }
    }

    void DropCancelledFromQueue()
    {
        lock (_queue)
        {
            for (var node = _queue.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Gone)
                {
                    _queue.Remove(node);
                    Interlocked.Increment(ref _cancelled);
                    Interlocked.Decrement(ref _inFlight);
                }
                node = next;
            }
        }
    }

    /// <summary>Gives free rows to queued requests, first come first served.</summary>
    void Admit()
    {
        while (true)
        {
            Work? head;
            lock (_queue) head = _queue.First?.Value;
            if (head is null) return;
            if (!EnsureRoomFor(head)) return;           // it waits for the batch to drain; nobody overtakes it
            int row = Array.IndexOf(_rows, null);
            if (row < 0) return;
            lock (_queue) _queue.RemoveFirst();
            Start(row, head);
        }
    }

    /// <summary>
    /// A batch whose rows can hold the request: made on the first request, rebuilt larger once idle when a request
    /// needs more than its capacity (memory follows the requests served, not the limits).
    /// </summary>
    bool EnsureRoomFor(Work work)
    {
        int context = _model.Manifest.ContextLength;
        int needed = (int)Math.Min(work.Needed, context);
        if (_batch is not null && needed <= _batch.Capacity) return true;
        if (_liveRows > 0) return false;
        int capacity = Math.Min(context, Math.Max(needed, Math.Max(MinCapacity, _batch?.Capacity ?? 0)));
        _batch?.Dispose();
        _batch = null;
        int rows = BatchedGeneration.RowsThatFit(_model, MaxBatch, capacity);
        _batch = new BatchGenerator(_model, rows, capacity) { ActivationTaps = false }; // no request reads them
        _rows = new Work?[rows];
        return true;
    }

    void Start(int row, Work work)
    {
        var batch = _batch!;
        _rows[row] = work;
        Interlocked.Increment(ref _liveRows);
        try
        {
            work.Cancellation.ThrowIfCancellationRequested();
            var job = work.Job;
            work.Steering = job.Steering is null ? null : _steering.Prepare(job.Steering, job.GateQuestion);
            work.OnStart?.Invoke(work.Steering?.Outcome);
            var parameters = job.PromptLogprobs ? job.Parameters with { MaxLength = job.Prompt.Length + job.Parameters.MaxNewTokens } : job.Parameters;
            batch.Start(row, parameters);
            if (work.Steering?.Tensors is { } tensors)
            {
                try { batch[row].Steering = tensors; }
                catch (ArgumentException e) // non-finite values: a steering strength the floats cannot hold
                {
                    throw new RequestException(400, $"this request's steering cannot be applied: {e.Message}; lower steering.alpha",
                        "invalid_request_error", "steering.alpha", "invalid_steering");
                }
            }
            var clock = Stopwatch.StartNew();
            if (job.PromptLogprobs) work.PromptLogprobs = AppendScoringPrompt(batch, row, job, work.Cancellation);
            else batch.AppendTokens(row, job.Prompt);
            work.PrefillSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            work.Clock = clock;
            work.Text = new OutputText(_model.Tokenizer, job.SplitThinking, job.Stop);
            work.Logits = job.Logprobs is null ? null : new float[_model.Manifest.VocabSize];
            if (batch[row].IsDone) Finish(row, work); // nothing to generate (max_tokens 0)
        }
        catch (Exception e)
        {
            Leave(row, work, e);
        }
    }

    /// <summary>One token for every running request; each streams it, and a request that is done gives its row back.</summary>
    void Step()
    {
        var batch = _batch!;
        for (int row = 0; row < _rows.Length; row++)
        {
            if (_rows[row] is not { } w) continue;
            if (w.Gone || w.Cancellation.IsCancellationRequested) { Leave(row, w, null); continue; }
            if (w.Logits is not null) batch[row].Logits.CopyTo(w.Logits);
        }
        if (_liveRows == 0) return;
        batch.Step((row, e) => Leave(row, _rows[row]!, new RequestException(400,
            $"the model's output became unusable under this request's steering ({e.Message}); lower steering.alpha",
            "invalid_request_error", "steering.alpha", "invalid_logits")));
        Interlocked.Increment(ref _steps);
        for (int row = 0; row < _rows.Length; row++)
        {
            if (_rows[row] is not { } w) continue;
            try
            {
                var r = batch[row];
                if (r.StoppedOnStopToken) { Finish(row, w); continue; }
                int id = r.LastToken;
                var delta = w.Text!.Add(id);
                var logprob = w.Logits is null ? null : Logprobs.Of(_model.Tokenizer, w.Logits, id, w.Job.Logprobs!.Value);
                if (!w.Gone) w.OnToken?.Invoke(new TokenOutput(id, delta, logprob));
                AfterToken?.Invoke(r.GeneratedCount);
                if (r.IsDone || w.Text.HitStop) Finish(row, w);
            }
            catch (Exception e)
            {
                Leave(row, w, e);
            }
        }
    }

    void Finish(int row, Work w)
    {
        var r = _batch![row];
        var tail = w.Text!.Flush();
        string finish = r.StoppedOnStopToken || w.Text.HitStop ? "stop" : "length";
        var outcome = new GenerationOutcome(finish, w.Job.Prompt.Length, r.GeneratedCount, w.PromptLogprobs, w.Steering?.Outcome, tail,
            w.PrefillSeconds, w.Clock!.Elapsed.TotalSeconds);
        Leave(row, w, null, outcome);
    }

    /// <summary>The request leaves its row: finished (<paramref name="outcome"/>), failed (<paramref name="error"/>) or cancelled (neither).</summary>
    void Leave(int row, Work w, Exception? error, GenerationOutcome? outcome = null)
    {
        _rows[row] = null;
        _batch?.Release(row);
        if (w.Steering is not null) _steering.Release(w.Steering);
        w.Steering = null;
        Interlocked.Decrement(ref _liveRows);
        if (outcome is not null && w.Result.TrySetResult(outcome)) Interlocked.Increment(ref _completed);
        else if (error is not null && error is not OperationCanceledException && w.Result.TrySetException(error))
        {
            if (error is not RequestException) Interlocked.Increment(ref _failed); // a refused request is not a server failure
        }
        else
        {
            w.Result.TrySetCanceled(w.Cancellation.IsCancellationRequested ? w.Cancellation : new CancellationToken(true));
            Interlocked.Increment(ref _cancelled);
        }
        Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>
    /// Runs the prompt with logits at every position, in the batch's chunks (so memory stays flat), and scores each
    /// token against its prefix; the first has none (null).
    /// </summary>
    TokenLogprob?[] AppendScoringPrompt(BatchGenerator batch, int row, ServingJob job, CancellationToken cancellation)
    {
        var prompt = job.Prompt;
        int vocab = _model.Manifest.VocabSize, top = job.Logprobs ?? 0;
        var result = new TokenLogprob?[prompt.Length];
        float[]? carried = null; // a chunk's last row scores the next chunk's first token
        for (int start = 0; start < prompt.Length; start += batch.ChunkSize)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(batch.ChunkSize, prompt.Length - start);
            batch.AppendTokens(row, prompt.AsSpan(start, n), LogitsScope.All);
            var all = batch[row].AllLogits;
            if (carried is not null) result[start] = Logprobs.Of(_model.Tokenizer, carried, prompt[start], top);
            for (int i = 0; i + 1 < n; i++)
                result[start + i + 1] = Logprobs.Of(_model.Tokenizer, all.Slice(i * vocab, vocab), prompt[start + i + 1], top);
            carried = all.Slice((n - 1) * vocab, vocab).ToArray();
        }
        return result;
    }

    /// <summary>Stops the generation thread: running and queued requests fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        Wake();
        _thread.Join();
        _stopping.Dispose();
    }
}
