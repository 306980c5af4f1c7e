using System.Diagnostics;
using System.Text;
using System.Text.Json;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Model.Synthetic;

namespace AdaRas.Evaluation.Speed;

/// <summary>What `adaras bench` measures.</summary>
public sealed record BenchOptions
{
    public IReadOnlyList<string> Shapes { get; init; } = ["tiny", "qwen3-0.6b"];
    public int PromptTokens { get; init; } = 128;
    public int NewTokens { get; init; } = 64;
    public int Repetitions { get; init; } = 3;
    public int IdentifyTokens { get; init; } = 512;
    /// <summary>Any of "decode", "identify", "ranking".</summary>
    public IReadOnlySet<string> Parts { get; init; } = new HashSet<string> { "decode", "identify", "ranking" };

    public static readonly string[] KnownParts = ["decode", "identify", "ranking"];

    public void Validate()
    {
        if (Parts.FirstOrDefault(p => !KnownParts.Contains(p)) is { } unknown)
            throw new ArgumentException($"unknown bench part '{unknown}' (known: {string.Join(", ", KnownParts)})");
        if (PromptTokens < 1 || NewTokens < 2 || Repetitions < 1 || IdentifyTokens < 2)
            throw new ArgumentException("prompt >= 1, new tokens >= 2, repetitions >= 1 and identify tokens >= 2 are required");
        foreach (var shape in Shapes) CheckpointShapes.Get(shape);
    }
}

/// <summary>The report of a bench run: Markdown for people, JSON for tools.</summary>
public sealed record BenchReport(string Markdown, string Json)
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
public static class BenchSuite
{
    public static BenchReport Run(BenchOptions options, Func<BenchConfig, ProcessStartInfo> startWorker, Action<string>? log = null)
    {
        options.Validate();
        log ??= _ => { };
        var md = new StringBuilder();
        var json = new List<object>();
        double read = MemoryBandwidth.MeasureReadBytesPerSecond();
        double copy = MemoryBandwidth.MeasureCopyBytesPerSecond();
        md.AppendLine($"Machine: {Environment.ProcessorCount} cores; memory bandwidth measured here: copy {copy / 1e9:F1} GB/s " +
                      $"(STREAM convention, bytes read + written), streaming read {read / 1e9:F1} GB/s.");
        int r = options.Repetitions;
        foreach (var shapeName in options.Shapes)
        {
            if (!options.Parts.Contains("decode") && !options.Parts.Contains("identify")) break;
            var shape = CheckpointShapes.Get(shapeName);
            var (steerable, plain) = PrepareModels(shape, log);
            var manifest = ModelManifest.Load(Path.Combine(steerable, ModelManifest.FileName));
            md.AppendLine();
            md.AppendLine($"### {shape.Name} (fp32, CPU, {shape.ParameterCount / 1e6:F1}M parameters)");
            if (options.Parts.Contains("decode"))
                json.Add(Decode(options, shape, manifest, steerable, plain, copy, read, startWorker, log, md));
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
        }
        if (options.Parts.Contains("ranking"))
            json.Add(Ranking(r, log, md));
        return new BenchReport(md.ToString(), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
    }

    static object Decode(BenchOptions options, CheckpointShape shape, ModelManifest manifest, string steerable, string plain,
        double copy, double read, Func<BenchConfig, ProcessStartInfo> startWorker, Action<string> log, StringBuilder md)
    {
        int p = options.PromptTokens, n = options.NewTokens, r = options.Repetitions;
        BenchConfig[] configs =
        [
            new("engine, steerable", BenchRuntime.Engine, steerable, p, n, r),
            new("engine, plain", BenchRuntime.Engine, plain, p, n, r),
            new("GenAI, steerable", BenchRuntime.GenAi, steerable, p, n, r),
            new("engine, steering 50 neurons", BenchRuntime.Engine, steerable, p, n, r, SteeredNeurons: 50),
        ];
        var measured = new List<BenchResult>();
        foreach (var config in configs)
        {
            log($"[{shape.Name}] {config.Name}: {r} x ({p} prompt + {n} new tokens)...");
            measured.Add(SpeedBench.RunInWorker(config, startWorker));
        }
        var engine = measured[0];
        long bytes = manifest.WeightBytesPerToken;
        double limit = copy / bytes;
        md.AppendLine();
        md.AppendLine($"Decode: prompt {p}, {n} new tokens, median of {r}; each row in its own process.");
        md.AppendLine();
        md.AppendLine("| configuration | prefill tok/s | decode tok/s | peak memory MB |");
        md.AppendLine("|---|---:|---:|---:|");
        foreach (var m in measured)
            md.AppendLine($"| {m.Name} | {m.PrefillTokensPerSecond:F1} | {m.DecodeTokensPerSecond:F2} | {m.PeakResidentBytes / 1e6:F0} |");
        md.AppendLine();
        md.AppendLine($"- engine / GenAI decode: **{engine.DecodeTokensPerSecond / measured[2].DecodeTokensPerSecond:F2}x** (target >= 1.0); prefill {engine.PrefillTokensPerSecond / measured[2].PrefillTokensPerSecond:F2}x");
        md.AppendLine($"- steerable / plain decode: **{engine.DecodeTokensPerSecond / measured[1].DecodeTokensPerSecond:F3}x** (target >= 0.98)");
        md.AppendLine($"- steering on / off decode: **{measured[3].DecodeTokensPerSecond / engine.DecodeTokensPerSecond:F3}x** (target >= 0.98)");
        md.AppendLine($"- weights read per token {bytes / 1e6:F1} MB; copy-bandwidth limit {limit:F2} tok/s: engine decode at **{100 * engine.DecodeTokensPerSecond / limit:F0}%** of it " +
                      $"(target >= 70%); {100 * engine.DecodeTokensPerSecond * bytes / read:F0}% of the streaming-read limit ({read / bytes:F2} tok/s)");
        return new { shape = shape.Name, weight_bytes_per_token = bytes, copy_bandwidth_bytes_per_second = copy, read_bandwidth_bytes_per_second = read, results = measured };
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

    /// <summary>Random-weight checkpoint of the shape, exported steerable and plain, all cached.</summary>
    static (string Steerable, string Plain) PrepareModels(CheckpointShape shape, Action<string> log)
    {
        var checkpoint = Path.Combine(ModelResolver.CacheRoot, "bench", shape.Name);
        if (!File.Exists(Path.Combine(checkpoint, Checkpoint.ConfigFile)))
        {
            log($"[{shape.Name}] writing a random checkpoint to {checkpoint}...");
            RandomCheckpoint.Write(checkpoint, shape, seed: 1, overwrite: true);
        }
        log($"[{shape.Name}] exporting (cached after the first run)...");
        return (ModelResolver.Resolve(checkpoint, new ExportOptions { Steerable = true }),
                ModelResolver.Resolve(checkpoint, new ExportOptions { Steerable = false }));
    }
}
