using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using AdaRas.Evaluation.Speed;

namespace AdaRas.Cli.Commands;

static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var shapes = new Option<string>("--shapes") { Description = "comma-separated checkpoint shapes to measure", DefaultValueFactory = _ => "tiny,qwen3-0.6b" };
        var prompt = new Option<int>("--prompt") { Description = "prompt tokens", DefaultValueFactory = _ => 128 };
        var newTokens = new Option<int>("--new-tokens") { Description = "decoded tokens per repetition", DefaultValueFactory = _ => 64 };
        var reps = new Option<int>("--reps") { Description = "interleaved rounds (decode) / timed repetitions (identify, ranking); medians reported", DefaultValueFactory = _ => 3 };
        var identifyTokens = new Option<int>("--identify-tokens", "--probe-tokens") { Description = "tokens teacher-forced per repetition for the RCN identification row", DefaultValueFactory = _ => 512 };
        var parts = new Option<string>("--parts") { Description = "comma-separated parts to run: decode, identify (alias probe), ranking, batch", DefaultValueFactory = _ => "decode,identify,ranking,batch" };
        var output = new Option<string?>("--out") { Description = "also write bench.json and bench.md to this folder" };
        var threads = new Option<int>("--threads") { Description = "intra-op threads of every decode row, engine and peers alike (default: all cores)" };
        var precisions = new Option<string>("--precisions") { Description = "engine precisions to measure", DefaultValueFactory = _ => "fp32,int8,int4" };
        var noLlama = new Option<bool>("--no-llama") { Description = "leave out the llama.cpp rows" };
        var command = new Command("bench", "Measure prefill/decode speed and memory: engine fp32/int8/int4 (steerable, plain, steered) vs ONNX Runtime GenAI and llama.cpp at equal threads, side by side")
        {
            shapes, prompt, newTokens, reps, identifyTokens, parts, output, threads, precisions, noLlama,
        };
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            static string[] List(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var options = new BenchOptions
            {
                Shapes = List(parse.GetValue(shapes)!),
                PromptTokens = parse.GetValue(prompt),
                NewTokens = parse.GetValue(newTokens),
                Repetitions = parse.GetValue(reps),
                IdentifyTokens = parse.GetValue(identifyTokens),
                Parts = List(parse.GetValue(parts)!).Select(x => x.ToLowerInvariant() is "probe" ? "identify" : x.ToLowerInvariant()).ToHashSet(),
                Threads = parse.GetValue(threads),
                Precisions = List(parse.GetValue(precisions)!).Select(x => x.ToLowerInvariant()).ToArray(),
                LlamaCpp = !parse.GetValue(noLlama),
            };
            var report = BenchSuite.Run(options, WorkerStart, console.Error.WriteLine, console.Cancellation);
            console.Out.WriteLine(report.Markdown.TrimEnd());
            if (parse.GetValue(output) is { } folder) report.Write(folder);
            return 0;
        }));
        return command;
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
