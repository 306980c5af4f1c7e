using System.CommandLine;
using System.Diagnostics;
using AdaRas.Model;
using AdaRas.Model.Synthetic;

namespace AdaRas.Cli.Commands;

static class MakeCheckpointCommand
{
    public static Command Create(CliConsole console)
    {
        var output = new Argument<string>("folder") { Description = "where to write the checkpoint" };
        var shape = new Option<string>("--shape") { Description = $"one of: {string.Join(", ", CheckpointShapes.All.Select(s => s.Name))}", DefaultValueFactory = _ => "tiny" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var dtype = new Option<string?>("--dtype") { Description = "f32, bf16 or f16 (default: the shape's)" };
        var shards = new Option<int>("--shards") { Description = "number of safetensors shards", DefaultValueFactory = _ => 1 };
        var force = new Option<bool>("--force") { Description = "replace an existing folder" };
        var command = new Command("make-checkpoint", "Write a seeded random Qwen3 checkpoint in the Hugging Face layout (tests, speed figures)")
        {
            output, shape, seed, dtype, shards, force,
        };
        command.SetAction(parse => CommandRunner.Run(console, () =>
        {
            var chosen = CheckpointShapes.Get(parse.GetValue(shape)!);
            TensorDType? type = parse.GetValue(dtype) switch
            {
                null => null,
                var s when TensorDTypes.TryParse(s.ToUpperInvariant(), out var t) && t.IsFloat() => t,
                var s => throw new AdaRas.Files.UsageException($"--dtype '{s}' is not f32, bf16 or f16"),
            };
            var clock = Stopwatch.StartNew();
            RandomCheckpoint.Write(parse.GetValue(output)!, chosen, parse.GetValue(seed), type, parse.GetValue(shards), parse.GetValue(force),
                cancellation: console.Cancellation);
            console.Out.WriteLine($"wrote {chosen.Name} ({chosen.ParameterCount / 1e6:F1}M parameters) to {Path.GetFullPath(parse.GetValue(output)!)} in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }
}
