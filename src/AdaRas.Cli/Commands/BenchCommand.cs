using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using AdaRas.Evaluation.Speed;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Tools;

namespace AdaRas.Cli.Commands;

static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var shapes = new Option<string>("--shapes") { Description = "comma-separated checkpoint shapes to measure", DefaultValueFactory = _ => "tiny,qwen3-0.6b" };
        var prompt = new Option<int>("--prompt") { Description = "prompt tokens", DefaultValueFactory = _ => 128 };
        var newTokens = new Option<int>("--new-tokens") { Description = "decoded tokens per repetition", DefaultValueFactory = _ => 64 };
        var reps = new Option<int>("--reps") { Description = "timed repetitions per configuration (medians reported)", DefaultValueFactory = _ => 3 };
        var probeTokens = new Option<int>("--probe-tokens") { Description = "tokens teacher-forced per repetition for the RCN probe row", DefaultValueFactory = _ => 512 };
        var parts = new Option<string>("--parts") { Description = "comma-separated parts to run: decode, probe, ranking", DefaultValueFactory = _ => "decode,probe,ranking" };
        var output = new Option<string?>("--out") { Description = "also write bench.json and bench.md to this folder" };
        var command = new Command("bench", "Measure prefill/decode speed and memory: engine (steerable, plain, steered) vs ONNX Runtime GenAI, side by side")
        {
            shapes, prompt, newTokens, reps, probeTokens, parts, output,
        };
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            var report = new StringBuilder();
            var results = new List<object>();
            double bandwidth = MemoryBandwidth.MeasureReadBytesPerSecond();
            report.AppendLine($"Machine: {Environment.ProcessorCount} cores, measured streaming read bandwidth {bandwidth / 1e9:F1} GB/s");
            string[] known = ["decode", "probe", "ranking"];
            var selected = parse.GetValue(parts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => x.ToLowerInvariant()).ToHashSet();
            if (selected.FirstOrDefault(x => !known.Contains(x)) is { } unknown)
                throw new ArgumentException($"--parts: unknown part '{unknown}' (known: {string.Join(", ", known)})");
            int r = parse.GetValue(reps);
            foreach (var shapeName in parse.GetValue(shapes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!selected.Contains("decode") && !selected.Contains("probe")) break;
                var shape = CheckpointShapes.Get(shapeName);
                var (steerable, plain) = PrepareModels(shape, console);
                var manifest = ModelManifest.Load(Path.Combine(steerable, ModelManifest.FileName));
                report.AppendLine();
                report.AppendLine($"### {shape.Name} (fp32, CPU, {shape.ParameterCount / 1e6:F1}M parameters)");
                if (selected.Contains("decode"))
                {
                    int p = parse.GetValue(prompt), n = parse.GetValue(newTokens);
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
                        console.Error.WriteLine($"[{shape.Name}] {config.Name}: {r} x ({p} prompt + {n} new tokens)...");
                        measured.Add(SpeedBench.RunInWorker(config, WorkerStart));
                    }
                    var a = measured[0];
                    long bytes = MemoryBandwidth.WeightBytesPerToken(manifest);
                    double limit = bandwidth / bytes;
                    report.AppendLine();
                    report.AppendLine($"Decode: prompt {p}, {n} new tokens, median of {r}.");
                    report.AppendLine();
                    report.AppendLine("| configuration | prefill tok/s | decode tok/s | peak memory MB |");
                    report.AppendLine("|---|---:|---:|---:|");
                    foreach (var m in measured)
                        report.AppendLine($"| {m.Name} | {m.PrefillTokensPerSecond:F1} | {m.DecodeTokensPerSecond:F2} | {m.PeakResidentBytes / 1e6:F0} |");
                    report.AppendLine();
                    report.AppendLine($"- engine / GenAI decode: **{a.DecodeTokensPerSecond / measured[2].DecodeTokensPerSecond:F2}x** (target >= 1.0); prefill {a.PrefillTokensPerSecond / measured[2].PrefillTokensPerSecond:F2}x");
                    report.AppendLine($"- steerable / plain decode: **{a.DecodeTokensPerSecond / measured[1].DecodeTokensPerSecond:F3}x** (target >= 0.98)");
                    report.AppendLine($"- steering on / off decode: **{measured[3].DecodeTokensPerSecond / a.DecodeTokensPerSecond:F3}x** (target >= 0.98)");
                    report.AppendLine($"- weights read per token {bytes / 1e6:F1} MB; bandwidth limit {limit:F2} tok/s; engine decode at **{100 * a.DecodeTokensPerSecond / limit:F0}%** of it (target >= 70%)");
                    results.Add(new { shape = shape.Name, weight_bytes_per_token = bytes, bandwidth_bytes_per_second = bandwidth, results = measured });
                }
                if (selected.Contains("probe"))
                {
                    int pt = parse.GetValue(probeTokens);
                    console.Error.WriteLine($"[{shape.Name}] RCN probe vs scoring: {r} x {pt} teacher-forced tokens...");
                    var probe = ProbeBench.MeasureThroughput(steerable, pt, chunkSize: 512, repetitions: r);
                    report.AppendLine();
                    report.AppendLine($"RCN identification, teacher forcing {probe.Tokens} tokens (chunks of 512), median of {r}:");
                    report.AppendLine();
                    report.AppendLine("| configuration | tok/s |");
                    report.AppendLine("|---|---:|");
                    report.AppendLine($"| probe: no logits, sum tap | {probe.ProbeTokensPerSecond:F1} |");
                    report.AppendLine($"| scoring: logits at every position | {probe.ScoringTokensPerSecond:F1} |");
                    report.AppendLine();
                    report.AppendLine($"- probe / scoring: **{probe.Ratio:F2}x** (target >= 0.95)");
                    results.Add(new { shape = shape.Name, probe });
                }
            }
            if (selected.Contains("ranking"))
            {
                console.Error.WriteLine("ranking all neurons of the Qwen3-1.7B shape (28 x 6144)...");
                var ranking = ProbeBench.MeasureRanking(repetitions: r);
                report.AppendLine();
                report.AppendLine($"### RCN ranking ({ranking.Layers} x {ranking.IntermediateSize} = {ranking.Layers * ranking.IntermediateSize} neurons, top {ranking.Top}, {ranking.Device}, median of {ranking.Repetitions})");
                report.AppendLine();
                report.AppendLine("| method | ms | speed-up vs LINQ with contrast |");
                report.AppendLine("|---|---:|---:|");
                foreach (var (name, time) in new[]
                         {
                             ("kernels: contrast + host top-K selection (default on CPU)", ranking.HostSelection),
                             ("kernels: contrast + device radix sort (default on CUDA)", ranking.RadixSort),
                             ("LINQ with contrast: host loops for mu+/mu-/delta/r, then OrderBy/ThenBy/Take", ranking.LinqWithContrast),
                             ("LINQ OrderBy/ThenBy/Take of precomputed r and delta", ranking.Linq),
                         })
                    report.AppendLine($"| {name} | {time.TotalMilliseconds:F2} | {ranking.LinqWithContrast / time:F2}x |");
                report.AppendLine();
                report.AppendLine($"- same selection in all four: {ranking.SameSelection}");
                results.Add(new { ranking = new { ranking.Device, ranking.Layers, ranking.IntermediateSize, ranking.Top, host_selection_ms = ranking.HostSelection.TotalMilliseconds,
                    radix_sort_ms = ranking.RadixSort.TotalMilliseconds, linq_ms = ranking.Linq.TotalMilliseconds, linq_with_contrast_ms = ranking.LinqWithContrast.TotalMilliseconds, ranking.SameSelection } });
            }
            console.Out.WriteLine(report.ToString().TrimEnd());
            if (parse.GetValue(output) is { } folder)
            {
                AtomicFile.WriteAllText(Path.Combine(folder, "bench.md"), report.ToString());
                AtomicFile.WriteAllText(Path.Combine(folder, "bench.json"), System.Text.Json.JsonSerializer.Serialize(results, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>Random-weight checkpoint of the shape, exported steerable and plain, all cached.</summary>
    static (string Steerable, string Plain) PrepareModels(CheckpointShape shape, CliConsole console)
    {
        var checkpoint = Path.Combine(ModelResolver.CacheRoot, "bench", shape.Name);
        if (!File.Exists(Path.Combine(checkpoint, Checkpoint.ConfigFile)))
        {
            console.Error.WriteLine($"[{shape.Name}] writing a random checkpoint to {checkpoint}...");
            RandomCheckpoint.Write(checkpoint, shape, seed: 1, overwrite: true);
        }
        console.Error.WriteLine($"[{shape.Name}] exporting (cached after the first run)...");
        var steerable = ModelResolver.Resolve(checkpoint, new ExportOptions { Steerable = true });
        var plain = ModelResolver.Resolve(checkpoint, new ExportOptions { Steerable = false });
        return (steerable, plain);
    }

    /// <summary>Starts this same program as a benchmark worker for one configuration.</summary>
    static ProcessStartInfo WorkerStart(BenchConfig config)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        start.ArgumentList.Add(WorkerCommandName);
        start.ArgumentList.Add(SpeedBench.ToJson(config));
        return start;
    }

    public const string WorkerCommandName = "bench-worker";

    /// <summary>Hidden verb: runs one configuration and prints its result as JSON.</summary>
    public static Command CreateWorker(CliConsole console)
    {
        var config = new Argument<string>("config");
        var command = new Command(WorkerCommandName, "internal: one benchmark configuration") { config };
        command.Hidden = true;
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            console.Out.WriteLine(SpeedBench.ToJson(SpeedBench.RunInProcess(SpeedBench.ConfigFromJson(parse.GetValue(config)!))));
            return 0;
        }));
        return command;
    }
}
