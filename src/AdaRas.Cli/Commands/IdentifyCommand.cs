using System.CommandLine;
using AdaRas.Steering.Rcn;

namespace AdaRas.Cli.Commands;

static class IdentifyCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var data = new Option<string>("--data") { Description = "contrastive set: JSONL rows {id, _id, question, thinking, is_good}", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "pattern CSV to write (its sidecar .json beside it; finished trajectories cached in <out>.cache/)", Required = true };
        var top = new Option<int>("--top") { Description = "neurons to keep, in rank order", DefaultValueFactory = _ => 200 };
        var chunk = new Option<int>("--chunk") { Description = "tokens per forward call", DefaultValueFactory = _ => 512 };
        var force = new Option<bool>("--force") { Description = "replace an existing pattern" };
        var maxTokens = new Option<int?>("--max-tokens")
        {
            Description = "average only each trajectory's first N tokens (the paper's TransformerLens activations stop at 2048); default: all",
        };
        // `probe` was this verb's first name; "probe" now means only the correctness classifier (probe-l1).
        var command = new Command("identify",
            "Identify reasoning-critical neurons: teacher-force correct and incorrect trajectories, rank neurons by how their mean activations differ (resumable)")
        {
            data, output, top, chunk, force, maxTokens,
        };
        command.Aliases.Add("probe");
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var set = ContrastiveSet.Load(parse.GetValue(data)!);
            set.RequireBothClasses();
            var cap = parse.GetValue(maxTokens);
            if (cap is < 1) throw new AdaRas.Files.UsageException($"--max-tokens must be at least 1, not {cap}");
            var options = new IdentifyOptions { Top = parse.GetValue(top), Overwrite = parse.GetValue(force), MaxTokens = cap };
            var patternPath = parse.GetValue(output)!;
            if (!options.Overwrite && File.Exists(patternPath))
                throw new IOException($"{patternPath}: already exists (pass --force to replace it)");
            using var m = model.Load(parse, console);
            var identifier = new RcnIdentifier(m, parse.GetValue(chunk));
            console.Error.WriteLine($"[identify: {set.Trajectories.Count} trajectories ({set.CorrectCount} correct, {set.IncorrectCount} incorrect) " +
                $"from {set.Path} on {m.Manifest.ModelId}, {identifier.Shape.NeuronCount} neurons]");
            bool drew = false;
            var progress = new ThrottledProgress<IdentifyProgress>(p =>
            {
                drew = true;
                console.Error.Write($"\r{p}   ");
            });
            IdentifyResult result;
            try
            {
                result = identifier.Identify(set, patternPath, options, progress: progress, cancellation: cancellation);
            }
            finally
            {
                if (drew) console.Error.WriteLine();
            }
            Print(console, result, set, cap, identifier.Shape.NeuronCount);
            return 0;
        })));
        return command;
    }

    static void Print(CliConsole console, IdentifyResult result, ContrastiveSet set, int? cap, long neurons)
    {
        var s = result.Sidecar;
        console.Out.WriteLine($"wrote {result.PatternPath}: top {s.Top} of {neurons} neurons from " +
            $"{s.CorrectTrajectories} correct and {s.IncorrectTrajectories} incorrect trajectories " +
            $"({s.CorrectTokens + s.IncorrectTokens} tokens; {result.Computed} computed at {result.TokensPerSecond:F1} tok/s, {result.FromCache} from the cache)");
        if (cap is { } n)
            console.Out.WriteLine($"--max-tokens {n}: {result.Truncated} of {set.Trajectories.Count} trajectories cut, " +
                $"{result.TokensDropped} of {result.TokensTotal} tokens left out " +
                $"({(result.TokensTotal == 0 ? 0 : 100.0 * result.TokensDropped / result.TokensTotal):F1}%)");
        var first = result.Ranked[0];
        console.Out.WriteLine($"rank 1: layer {first.Layer} neuron {first.Index}, mu+ {first.MuPlus:G4}, mu- {first.MuMinus:G4}, r {first.Relative:G4}");
    }
}
