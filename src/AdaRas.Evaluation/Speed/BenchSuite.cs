using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Model.Synthetic;
using AdaRas.Workflows;

namespace AdaRas.Evaluation.Speed;

/// <summary>What `adaras bench` measures.</summary>
internal sealed record BenchOptions
{
    public IReadOnlyList<string> Shapes { get; init; } = ["tiny", "qwen3-0.6b"];
    public int PromptTokens { get; init; } = 128;
    public int NewTokens { get; init; } = 64;
    public int Repetitions { get; init; } = 3;
    public int IdentifyTokens { get; init; } = 512;
    /// <summary>Intra-op threads of every decode row, engine and peers alike (0: this machine's core count).</summary>
    public int Threads { get; init; }
    /// <summary>Engine precisions measured (each steerable, plain and steered).</summary>
    public IReadOnlyList<string> Precisions { get; init; } = ["fp32", "int8", "int4"];
    /// <summary>Also measure llama.cpp (F32, F16, Q8_0, Q4_0, Q4_K_M, each with and without a control vector).</summary>
    public bool LlamaCpp { get; init; } = true;
    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
    /// <summary>Any of "decode", "identify", "ranking", "batch".</summary>
    public IReadOnlySet<string> Parts { get; init; } = new HashSet<string> { "decode", "identify", "ranking", "batch" };
    /// <summary>Rows of the batched-decoding row ("batch" part).</summary>
    public int BatchRows { get; init; } = 8;

    public static readonly string[] KnownParts = ["decode", "identify", "ranking", "batch"];

    public void Validate()
    {
        if (Parts.FirstOrDefault(p => !KnownParts.Contains(p)) is { } unknown)
            throw new UsageException($"--parts: unknown bench part '{unknown}' (known: {string.Join(", ", KnownParts)})");
        if (PromptTokens < 1 || NewTokens < 2 || Repetitions < 1 || IdentifyTokens < 2)
            throw new UsageException($"--prompt {PromptTokens}, --new-tokens {NewTokens}, --reps {Repetitions}, --identify-tokens {IdentifyTokens}: " +
                "prompt >= 1, new tokens >= 2, repetitions >= 1 and identify tokens >= 2 are required");
        foreach (var shape in Shapes) CheckpointShapes.Get(shape);
        foreach (var precision in Precisions)
            if (precision is not ("fp32" or "int8" or "int4")) throw new UsageException($"--precisions: '{precision}' is not fp32, int8 or int4");
        if (Threads < 0) throw new UsageException($"--threads must be >= 0, got {Threads}");
    }
}

/// <summary>The report of a bench run: Markdown for people, JSON for tools.</summary>
internal sealed record BenchReport(string Markdown, string Json)
{
    public void Write(string folder)
    {
        AtomicFile.WriteAllText(Path.Combine(folder, "bench.md"), Markdown);
        AtomicFile.WriteAllText(Path.Combine(folder, "bench.json"), Json);
    }
}

/// <summary>
/// The whole speed benchmark: for each shape a random-weight checkpoint (cached), exported steerable and plain;
/// decode rows (engine steerable / plain / steered, ONNX Runtime GenAI) each in its own worker process for a
/// clean peak-memory reading; RCN identification against plain scoring; and the neuron ranking kernels against LINQ.
/// Every target is a ratio of numbers measured side by side in the same run.
/// </summary>
internal static class BenchSuite
{
    /// <remarks>Cancellation is checked at every step (each logs before it starts) and kills a running worker process.</remarks>
    public static BenchReport Run(BenchOptions options, Func<BenchConfig, ProcessStartInfo> startWorker, Action<string>? log = null,
        CancellationToken cancellation = default)
    {
        options.Validate();
        var say = log ?? (_ => { });
        log = message => { cancellation.ThrowIfCancellationRequested(); say(message); };
        cancellation.ThrowIfCancellationRequested();
        var md = new StringBuilder();
        var json = new List<object>();
        double read = MemoryBandwidth.MeasureReadBytesPerSecond();
        double copy = MemoryBandwidth.MeasureCopyBytesPerSecond();
        md.AppendLine($"Machine: {Environment.ProcessorCount} cores; memory bandwidth measured here: copy {copy / 1e9:F1} GB/s " +
                      $"(STREAM convention, bytes read + written), streaming read {read / 1e9:F1} GB/s.");
        int r = options.Repetitions;
        foreach (var shapeName in options.Shapes)
        {
            if (!options.Parts.Contains("decode") && !options.Parts.Contains("identify") && !options.Parts.Contains("batch")) break;
            var shape = CheckpointShapes.Get(shapeName);
            var checkpoint = PrepareCheckpoint(shape, log, cancellation);
            string steerable = ModelResolver.Resolve(checkpoint, new ExportOptions { Steerable = true }, cancellation: cancellation);
            md.AppendLine();
            md.AppendLine($"### {shape.Name} (CPU, {shape.ParameterCount / 1e6:F1}M parameters, {options.EffectiveThreads} threads for every row)");
            if (options.Parts.Contains("decode"))
                json.Add(Decode(options, shape, checkpoint, copy, read, startWorker, log, md, cancellation));
            if (options.Parts.Contains("identify"))
            {
                log($"[{shape.Name}] RCN identification vs scoring: {r} x {options.IdentifyTokens} teacher-forced tokens...");
                var identify = IdentifyBench.MeasureThroughput(steerable, options.IdentifyTokens, chunkSize: 512, repetitions: r);
                md.AppendLine();
                md.AppendLine($"RCN identification, teacher forcing {identify.Tokens} tokens (chunks of 512), median of {r}:");
                md.AppendLine();
                md.AppendLine("| configuration | tok/s |");
                md.AppendLine("|---|---:|");
                md.AppendLine($"| identify: no logits, sum tap | {identify.IdentifyTokensPerSecond:F1} |");
                md.AppendLine($"| scoring: logits at every position | {identify.ScoringTokensPerSecond:F1} |");
                md.AppendLine();
                md.AppendLine($"- identify / scoring: **{identify.Ratio:F2}x** (target >= 0.95)");
                json.Add(new { shape = shape.Name, identify });
            }
            if (options.Parts.Contains("batch"))
                json.Add(Batch(options, shape, checkpoint, log, md));
        }
        if (options.Parts.Contains("ranking"))
            json.Add(Ranking(r, log, md));
        return new BenchReport(md.ToString(), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>One decode row: its configuration, what it is (for the ratios), and the weight bytes it reads per token.</summary>
    sealed record DecodeRow(BenchConfig Config, string Runtime, string Precision, string Variant, long BytesPerToken);

    static object Decode(BenchOptions options, CheckpointShape shape, string checkpoint, double copy, double read,
        Func<BenchConfig, ProcessStartInfo> startWorker, Action<string> log, StringBuilder md, CancellationToken cancellation)
    {
        int p = options.PromptTokens, n = options.NewTokens, rounds = options.Repetitions, t = options.EffectiveThreads;
        var rows = DecodeRows(options, shape, checkpoint, log);

        var samples = RunRounds(rows, options, shape.Name, startWorker, log, cancellation);

        var results = rows.Select(row =>
        {
            var s = samples[row];
            var decode = s.Select(x => x.DecodeTokensPerSecond).Order().ToArray();
            return new
            {
                row,
                prefill = Medians.Of(s.Select(x => x.PrefillTokensPerSecond)),
                decode = Medians.Of(decode),
                low = decode[0], high = decode[^1],
                peak = s.Max(x => x.PeakResidentBytes),
            };
        }).ToList();

        md.AppendLine();
        md.AppendLine($"Decode: prompt {p}, {n} new tokens, greedy; {rounds} interleaved rounds, each row in its own process per round (median of 3 generations after a warm-up); " +
                      $"medians (decode spread min-max); **{t} threads for every row**. Bandwidth: weight bytes read per token / measured copy bandwidth. " +
                      "Ratios below: median over rounds of the two rows' ratio in the same round.");
        md.AppendLine();
        md.AppendLine("| configuration | threads | prefill tok/s | decode tok/s | decode min-max | peak RSS MB | weights/token MB | % of copy bandwidth |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            md.AppendLine($"| {r.row.Config.Name} | {t} | {r.prefill:F1} | {r.decode:F2} | {r.low:F2}-{r.high:F2} | {r.peak / 1e6:F0} | " +
                          $"{r.row.BytesPerToken / 1e6:F1} | {100 * r.decode * r.row.BytesPerToken / copy:F0}% |");
        md.AppendLine();

        AppendRatios(md, options.Precisions, (runtime, precision, variant) =>
            samples.FirstOrDefault(kv => kv.Key.Runtime == runtime && kv.Key.Precision == precision && kv.Key.Variant == variant).Value?.Select(x => x.DecodeTokensPerSecond).ToArray());
        return new
        {
            shape = shape.Name, threads = t, rounds, prompt_tokens = p, new_tokens = n,
            copy_bandwidth_bytes_per_second = copy, read_bandwidth_bytes_per_second = read,
            rows = results.Select(r => new
            {
                name = r.row.Config.Name, runtime = r.row.Runtime, precision = r.row.Precision, variant = r.row.Variant, threads = t,
                prefill_tokens_per_second = r.prefill, decode_tokens_per_second = r.decode, decode_min = r.low, decode_max = r.high,
                decode_samples = samples[r.row].Select(x => x.DecodeTokensPerSecond).ToArray(), peak_resident_bytes = r.peak,
                weight_bytes_per_token = r.row.BytesPerToken, copy_bandwidth_fraction = r.decode * r.row.BytesPerToken / copy,
            }),
        };
    }

    /// <summary>
    /// Interleaved rounds: every row once per round, each in its own worker process (a warm-up, then three timed
    /// generations, their median the round's sample), so a slow spell of this shared machine hits all rows alike
    /// instead of one row's repetitions. One timed generation per worker was measured too noisy: the first after the
    /// warm-up still pays for page faults and allocator growth (steerable / plain at int4 read 0.84 that way, 0.97
    /// with three).
    /// </summary>
    static Dictionary<DecodeRow, List<BenchResult>> RunRounds(IReadOnlyList<DecodeRow> rows, BenchOptions options, string shape,
        Func<BenchConfig, ProcessStartInfo> startWorker, Action<string> log, CancellationToken cancellation)
    {
        int p = options.PromptTokens, n = options.NewTokens, rounds = options.Repetitions, t = options.EffectiveThreads;
        var samples = rows.ToDictionary(row => row, _ => new List<BenchResult>());
        var clock = Stopwatch.StartNew();
        int done = 0, total = rounds * rows.Count;
        for (int round = 1; round <= rounds; round++)
            foreach (var row in rows)
            {
                log($"[{shape}] round {round}/{rounds}: {row.Config.Name} ({p} prompt + {n} new tokens, {t} threads)...");
                var sample = SpeedBench.RunInWorker(row.Config with { Repetitions = 3 }, startWorker, cancellation);
                samples[row].Add(sample);
                var eta = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / ++done * (total - done));
                log($"[{shape}]   {sample.DecodeTokensPerSecond:F1} tok/s decode, {sample.PrefillTokensPerSecond:F0} prefill; {done}/{total} runs, ETA of the decode part {(int)eta.TotalMinutes} min {eta.Seconds:00} s");
            }
        return samples;
    }

    /// <summary>
    /// The side-by-side decode ratios the speed goals name (a pair missing from the run is left out): the median over
    /// rounds of each round's ratio, so a slow spell that hits both rows of a round cancels out.
    /// </summary>
    static void AppendRatios(StringBuilder md, IEnumerable<string> precisions, Func<string, string, string, double[]?> decode)
    {
        void Ratio(string label, double[]? a, double[]? b, string target)
        {
            if (a is null || b is null) return;
            md.AppendLine($"- {label}: **{Medians.OfPairedRatios(a, b):F3}x** ({target})");
        }
        foreach (var precision in precisions)
        {
            Ratio($"engine {precision} steering on / off", decode("engine", precision, "steered"), decode("engine", precision, "steerable"), "target >= 0.99");
            Ratio($"engine {precision} steerable / plain", decode("engine", precision, "steerable"), decode("engine", precision, "plain"), "target >= 0.98");
        }
        Ratio("engine fp32 / llama.cpp F32", decode("engine", "fp32", "steerable"), decode("llama.cpp", "F32", "plain"), "target >= 1");
        Ratio("engine int8 / llama.cpp Q8_0", decode("engine", "int8", "steerable"), decode("llama.cpp", "Q8_0", "plain"), "target >= 1");
        Ratio("engine int4 / llama.cpp Q4_0", decode("engine", "int4", "steerable"), decode("llama.cpp", "Q4_0", "plain"), "target >= 1");
        Ratio("engine int4 steered / llama.cpp Q4_0 with control vector", decode("engine", "int4", "steered"), decode("llama.cpp", "Q4_0", "steered"), "both steering");
        Ratio("engine fp32 / GenAI fp32", decode("engine", "fp32", "steerable"), decode("GenAI", "fp32", "steerable"), "equal threads");
        foreach (var q in new[] { "F32", "F16", "Q8_0", "Q4_0", "Q4_K_M" })
            Ratio($"llama.cpp {q} control vector on / off", decode("llama.cpp", q, "steered"), decode("llama.cpp", q, "plain"), "its steering cost");
    }

    /// <summary>
    /// Every decode row of a shape. Batched rows (batch 4/8 with per-row steering) belong here too, as engine rows
    /// whose runner decodes B sequences at once, once the batched generator exists: add an <see cref="IDecodeRunner"/>
    /// for it, a <see cref="BenchConfig"/> field for B, and one <see cref="DecodeRow"/> per batch size.
    /// </summary>
    static List<DecodeRow> DecodeRows(BenchOptions options, CheckpointShape shape, string checkpoint, Action<string> log)
    {
        int p = options.PromptTokens, n = options.NewTokens, t = options.EffectiveThreads;
        var rows = new List<DecodeRow>();
        foreach (var precision in options.Precisions)
        {
            var kind = Enum.Parse<ExportPrecision>(precision, ignoreCase: true);
            log($"[{shape.Name}] exporting {precision} steerable and plain (cached after the first run)...");
            string steerable = ModelResolver.Resolve(checkpoint, new ExportOptions { Precision = kind, Steerable = true });
            string plain = ModelResolver.Resolve(checkpoint, new ExportOptions { Precision = kind, Steerable = false });
            long bytes = ModelManifest.Load(Path.Combine(steerable, ModelManifest.FileName)).WeightBytesPerToken;
            rows.Add(new(new($"engine {precision}, steerable", BenchRuntime.Engine, steerable, p, n, 1, 0, t), "engine", precision, "steerable", bytes));
            rows.Add(new(new($"engine {precision}, plain", BenchRuntime.Engine, plain, p, n, 1, 0, t), "engine", precision, "plain", bytes));
            rows.Add(new(new($"engine {precision}, steering 50 neurons", BenchRuntime.Engine, steerable, p, n, 1, 50, t), "engine", precision, "steered", bytes));
            if (precision == "fp32")
                rows.Add(new(new("GenAI fp32, steerable", BenchRuntime.GenAi, steerable, p, n, 1, 0, t), "GenAI", "fp32", "steerable", bytes));
        }
        if (options.LlamaCpp)
        {
            foreach (var (type, path) in LlamaCppFiles(checkpoint, log))
            {
                long bytes = new FileInfo(path).Length; // tied: token_embd is also the output matrix, so every tensor is read per token
                rows.Add(new(new($"llama.cpp {type}", BenchRuntime.LlamaCpp, path, p, n, 1, 0, t, checkpoint), "llama.cpp", type, "plain", bytes));
                rows.Add(new(new($"llama.cpp {type}, control vector of 50 neurons", BenchRuntime.LlamaCpp, path, p, n, 1, 50, t, checkpoint),
                    "llama.cpp", type, "steered", bytes));
            }
        }
        return rows;
    }

    /// <summary>GGUF files of the checkpoint: F32 and F16 written here, Q8_0/Q4_0/Q4_K_M by llama.cpp's own quantizer; cached.</summary>
    static IEnumerable<(string Type, string Path)> LlamaCppFiles(string checkpoint, Action<string> log)
    {
#if ADARAS_CUDA
        yield break;
#else
        var folder = Path.Combine(checkpoint, "gguf");
        Directory.CreateDirectory(folder);
        string f32 = Path.Combine(folder, "model-F32.gguf"), f16 = Path.Combine(folder, "model-F16.gguf");
        if (!File.Exists(f32)) { log($"writing {f32}..."); LlamaCpp.Qwen3Gguf.Write(checkpoint, f32); }
        if (!File.Exists(f16)) { log($"writing {f16}..."); LlamaCpp.Qwen3Gguf.Write(checkpoint, f16, f16: true); }
        yield return ("F32", f32);
        yield return ("F16", f16);
        foreach (var (type, ftype) in new[] { ("Q8_0", LLama.Native.LLamaFtype.MOSTLY_Q8_0), ("Q4_0", LLama.Native.LLamaFtype.MOSTLY_Q4_0), ("Q4_K_M", LLama.Native.LLamaFtype.MOSTLY_Q4_K_M) })
        {
            string path = Path.Combine(folder, $"model-{type}.gguf");
            if (!File.Exists(path))
            {
                log($"quantizing to {type} with llama.cpp...");
                var temp = path + ".tmp";
                if (!LlamaCpp.LlamaCppRunner.TryQuantize(f32, temp, ftype, Environment.ProcessorCount))
                {
                    log($"llama.cpp cannot quantize this shape to {type} (its rows are not whole {type} blocks): no {type} rows");
                    File.Delete(temp);
                    continue;
                }
                File.Move(temp, path, overwrite: true);
            }
            yield return (type, path);
        }
#endif
    }


    /// <summary>Batched decoding at each engine precision: one row against 4 and <see cref="BenchOptions.BatchRows"/> rows, at the stated threads.</summary>
    static object Batch(BenchOptions options, CheckpointShape shape, string checkpoint, Action<string> log, StringBuilder md)
    {
        int p = options.PromptTokens, n = options.NewTokens, r = options.Repetitions, t = options.EffectiveThreads;
        int[] sizes = options.BatchRows > 4 ? [4, options.BatchRows] : [options.BatchRows];
        var results = new List<(string Precision, BatchThroughput Result)>();
        foreach (var precision in options.Precisions)
        {
            log($"[{shape.Name}] batched decoding, engine {precision}: 1 vs {string.Join(" and ", sizes)} rows, {r} x ({p} prompt + {n} new tokens), every other row steered...");
            var folder = ModelResolver.Resolve(checkpoint, new ExportOptions { Precision = Enum.Parse<ExportPrecision>(precision, ignoreCase: true), Steerable = true });
            using var model = AdaRas.Engine.LanguageModel.Load(folder, new AdaRas.Engine.ModelOptions { IntraOpThreads = t });
            results.Add((precision, BatchBench.Measure(model, sizes, p, n, r)));
        }
        md.AppendLine();
        md.AppendLine($"Batched decoding (one process per precision, {t} threads, interleaved, median of {r}; every other row steered on 50 neurons per layer, " +
                      "the single row steered too): aggregate decode tok/s.");
        md.AppendLine();
        md.AppendLine("| precision | " + string.Join(" | ", results[0].Result.Rows.Select(b => $"{b} row{(b == 1 ? "" : "s")}")) + " | " +
                      string.Join(" | ", sizes.Select(b => $"batch {b} / batch 1")) + " |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", results[0].Result.Rows.Count + sizes.Length)));
        foreach (var (precision, result) in results)
            md.AppendLine($"| {precision} | " + string.Join(" | ", result.TokensPerSecond.Select(v => $"{v:F1}")) + " | " +
                          string.Join(" | ", sizes.Select(b => $"**{result.RatioAt(b):F2}x**")) + " |");
        md.AppendLine();
        md.AppendLine($"- target: batch 8 >= 4x batch 1 on the 0.6B shape, fp32 and int4, per-row steering included");
        return new { shape = shape.Name, threads = t, batch = results.Select(x => new { precision = x.Precision, x.Result }) };
    }

    static object Ranking(int repetitions, Action<string> log, StringBuilder md)
    {
        log("ranking all neurons of the Qwen3-1.7B shape (28 x 6144)...");
        var ranking = IdentifyBench.MeasureRanking(repetitions: repetitions);
        md.AppendLine();
        md.AppendLine($"### RCN ranking ({ranking.Layers} x {ranking.IntermediateSize} = {ranking.Layers * ranking.IntermediateSize} neurons, top {ranking.Top}, {ranking.Device}, median of {ranking.Repetitions})");
        md.AppendLine();
        md.AppendLine("| method | ms | speed-up vs LINQ with contrast |");
        md.AppendLine("|---|---:|---:|");
        foreach (var (name, time) in new[]
                 {
                     ("kernels: contrast + host top-K selection (default on CPU)", ranking.HostSelection),
                     ("kernels: contrast + device radix sort (default on CUDA)", ranking.RadixSort),
                     ("LINQ with contrast: host loops for mu+/mu-/delta/r, then OrderBy/ThenBy/Take", ranking.LinqWithContrast),
                     ("LINQ OrderBy/ThenBy/Take of precomputed r and delta", ranking.Linq),
                 })
            md.AppendLine($"| {name} | {time.TotalMilliseconds:F2} | {ranking.LinqWithContrast / time:F2}x |");
        md.AppendLine();
        md.AppendLine($"- same selection in all four: {ranking.SameSelection}");
        return new
        {
            ranking = new
            {
                ranking.Device, ranking.Layers, ranking.IntermediateSize, ranking.Top, host_selection_ms = ranking.HostSelection.TotalMilliseconds,
                radix_sort_ms = ranking.RadixSort.TotalMilliseconds, linq_ms = ranking.Linq.TotalMilliseconds,
                linq_with_contrast_ms = ranking.LinqWithContrast.TotalMilliseconds, ranking.SameSelection,
            },
        };
    }

    /// <summary>Random-weight checkpoint of the shape (cached); its exports and GGUF files are made from it on demand.</summary>
    static string PrepareCheckpoint(CheckpointShape shape, Action<string> log, CancellationToken cancellation)
    {
        var checkpoint = Path.Combine(ModelResolver.CacheRoot, "bench", shape.Name);
        if (!File.Exists(Path.Combine(checkpoint, Checkpoint.ConfigFile)))
        {
            log($"[{shape.Name}] writing a random checkpoint to {checkpoint}...");
            RandomCheckpoint.Write(checkpoint, shape, seed: 1, overwrite: true, cancellation: cancellation);
        }
        return checkpoint;
    }
}
